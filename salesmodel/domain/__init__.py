"""The pure core: calendar, seasonality, forecast, targets, staffing, territory, tracking, overview.

DataFrames and plain values in, DataFrames or small result objects out: no files, no printing,
no params, no words (DESIGN.md, "Layout"). Import the module itself; nothing is re-exported here.
"""
