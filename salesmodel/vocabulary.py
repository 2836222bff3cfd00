"""Every word a user reads, in English, Chinese and Spanish: one catalogue.

Headings, narrative, column headers, tile titles, risks, notes and chart
labels all come from :data:`WORDS` through :func:`word`, so a page, a chart,
the workbook and an explorer say the same thing in the reader's language.

>>> word("target", "zh")
'目标'
>>> word("risk_territory", "en").format(dev=0.12)
'Territory balance: the largest deviation from the mean is 12.0%.'
"""
from __future__ import annotations

import difflib

from salesmodel.errors import ParamsError

__all__ = ["LANGUAGES", "WORDS", "has_word", "word"]

LANGUAGES = ("en", "zh", "es")

# key -> {language: text}; texts with {fields} are str.format templates.
WORDS: dict[str, dict[str, str]] = {
    # Shared report words
    "company": {"en": "Company", "zh": "公司", "es": "Empresa"},
    "region": {"en": "Region", "zh": "大区", "es": "Región"},
    "province": {"en": "Province", "zh": "省份", "es": "Provincia"},
    "city": {"en": "City", "zh": "城市", "es": "Ciudad"},
    "rep": {"en": "Sales rep", "zh": "销售代表", "es": "Vendedor"},
    "customer": {"en": "Customer", "zh": "客户", "es": "Cliente"},
    "tier": {"en": "Tier", "zh": "客户等级", "es": "Categoría"},
    "product": {"en": "Product", "zh": "产品", "es": "Producto"},
    "channel": {"en": "Channel", "zh": "渠道", "es": "Canal"},
    "online": {"en": "Online", "zh": "线上", "es": "En línea"},
    "offline": {"en": "Offline", "zh": "线下", "es": "Presencial"},
    "partner": {"en": "Partners", "zh": "合作伙伴", "es": "Socios"},
    "target": {"en": "Target", "zh": "目标", "es": "Objetivo"},
    "task": {"en": "Task", "zh": "任务", "es": "Cuota"},
    "actual": {"en": "Actual", "zh": "实际", "es": "Real"},
    "achievement": {"en": "Achievement", "zh": "达成率", "es": "Cumplimiento"},
    "forecast": {"en": "Forecast", "zh": "预测", "es": "Pronóstico"},
    "baseline": {"en": "Baseline", "zh": "基线", "es": "Línea base"},
    "plan": {"en": "Plan", "zh": "计划", "es": "Plan"},
    "sales": {"en": "Sales", "zh": "销售额", "es": "Ventas"},
    "amount": {"en": "Amount", "zh": "金额", "es": "Importe"},
    "units": {"en": "Units", "zh": "数量", "es": "Unidades"},
    "orders": {"en": "Orders", "zh": "订单数", "es": "Pedidos"},
    "customers": {"en": "Customers", "zh": "客户数", "es": "Clientes"},
    "share": {"en": "Share", "zh": "占比", "es": "Participación"},
    "year": {"en": "Year", "zh": "年", "es": "Año"},
    "half": {"en": "Half", "zh": "半年", "es": "Semestre"},
    "quarter": {"en": "Quarter", "zh": "季度", "es": "Trimestre"},
    "month": {"en": "Month", "zh": "月", "es": "Mes"},
    "dekad": {"en": "Dekad", "zh": "旬", "es": "Decena"},
    "week": {"en": "Week", "zh": "周", "es": "Semana"},
    "day": {"en": "Day", "zh": "日", "es": "Día"},
    "total": {"en": "Total", "zh": "合计", "es": "Total"},
    "growth": {"en": "Growth", "zh": "增长率", "es": "Crecimiento"},
    "last_year": {"en": "Last year", "zh": "去年", "es": "Año anterior"},
    "this_year": {"en": "This year", "zh": "今年", "es": "Este año"},
    "same_period_last_year": {"en": "Same period last year", "zh": "去年同期", "es": "Mismo periodo del año anterior"},
    "year_to_date": {"en": "Year to date", "zh": "年初至今", "es": "En lo que va del año"},
    "monthly_pattern": {"en": "Monthly pattern", "zh": "月度走势", "es": "Patrón mensual"},
    "sales_by_year": {"en": "Sales by year", "zh": "年度销售额", "es": "Ventas por año"},
    "sales_by_region": {"en": "Sales by region", "zh": "各大区销售额", "es": "Ventas por región"},
    "sales_by_province": {"en": "Sales by province", "zh": "各省份销售额", "es": "Ventas por provincia"},
    "sales_by_product": {"en": "Sales by product", "zh": "各产品销售额", "es": "Ventas por producto"},
    "sales_by_channel": {"en": "Sales by channel", "zh": "各渠道销售额", "es": "Ventas por canal"},
    "working_days": {"en": "Working days", "zh": "工作日", "es": "Días laborables"},
    "period": {"en": "Period", "zh": "期间", "es": "Periodo"},
    "start": {"en": "Start", "zh": "开始", "es": "Inicio"},
    "end": {"en": "End", "zh": "结束", "es": "Fin"},
    "first_dekad": {"en": "1st dekad", "zh": "上旬", "es": "1.ª decena"},
    "second_dekad": {"en": "2nd dekad", "zh": "中旬", "es": "2.ª decena"},
    "third_dekad": {"en": "3rd dekad", "zh": "下旬", "es": "3.ª decena"},
    "amount_last_year": {"en": "Same period last year", "zh": "去年同期", "es": "Mismo periodo del año anterior"},
    "units_last_year": {"en": "Units last year", "zh": "去年同期数量", "es": "Unidades año anterior"},
    "units_growth": {"en": "Units growth", "zh": "数量增长率", "es": "Crecimiento en unidades"},
    "index": {"en": "Index", "zh": "指数", "es": "Índice"},
    "yuan": {"en": "yuan", "zh": "元", "es": "yuanes"},
    "wan": {"en": "×10k yuan", "zh": "万元", "es": "×10 mil yuanes"},
    # Leadership page
    "title": {"en": "Year-start plan: executive summary", "zh": "年度销售计划:摘要", "es": "Plan anual: resumen ejecutivo"},
    "plan_total": {"en": "Plan total", "zh": "计划总额", "es": "Total del plan"},
    "vs_last_year": {"en": "Growth over last year", "zh": "较去年增长", "es": "Crecimiento sobre el año anterior"},
    "vs_baseline": {"en": "Growth over the baseline", "zh": "较基线增长", "es": "Crecimiento sobre la línea base"},
    "people": {"en": "People needed (hires)", "zh": "所需人数(招聘)", "es": "Personas necesarias (contrataciones)"},
    "pay_share": {"en": "Pay as a share of target", "zh": "薪酬占目标比例", "es": "Coste salarial sobre el objetivo"},
    "risks": {"en": "Main risks", "zh": "主要风险", "es": "Riesgos principales"},
    "not_in_run": {"en": "not in this run", "zh": "本次未计算", "es": "no incluido"},
    "provenance": {"en": "Provenance", "zh": "数据来源与可追溯性", "es": "Procedencia"},
    "plan_by_month": {"en": "Plan by month against the baseline", "zh": "月度计划与基线对比", "es": "Plan mensual frente a la línea base"},
    "target_by_region": {"en": "Target by region against last year", "zh": "各大区目标与去年对比", "es": "Objetivo por región frente al año anterior"},
    "capacity_vs_target": {"en": "Sales capacity against the target", "zh": "销售产能与目标对比", "es": "Capacidad de ventas frente al objetivo"},
    "territory_balance": {"en": "Territory balance", "zh": "区域均衡", "es": "Equilibrio territorial"},
    "capacity": {"en": "Capacity", "zh": "产能", "es": "Capacidad"},
    "hires": {"en": "Hires", "zh": "招聘人数", "es": "Contrataciones"},
    "pay_cost": {"en": "Pay cost", "zh": "薪酬成本", "es": "Coste salarial"},
    "scenario": {"en": "Scenario", "zh": "方案", "es": "Escenario"},
    "chance_of_meeting_plan": {"en": "Chance of meeting the plan", "zh": "达成概率", "es": "Probabilidad de cumplir el plan"},
    # Risks (format fields in braces)
    "risk_growth": {"en": "{unit} is asked to grow {growth:.0%} over the baseline; chance of meeting it {prob:.0%}.", "zh": "{unit} 需比基线增长 {growth:.0%},达成概率 {prob:.0%}。", "es": "A {unit} se le pide crecer {growth:.0%} sobre la línea base; probabilidad de lograrlo {prob:.0%}."},
    "risk_shortfall": {"en": "Capacity falls short of the target in {n} team-months (first: {first}), even with the fewest hires that can start in time.", "zh": "即使按时招聘,仍有 {n} 个团队月产能不足(最早:{first})。", "es": "La capacidad no alcanza el objetivo en {n} meses-equipo (el primero: {first}), aun con las contrataciones posibles a tiempo."},
    "risk_territory": {"en": "Territory balance: the largest deviation from the mean is {dev:.1%}.", "zh": "区域均衡:与平均值的最大偏差为 {dev:.1%}。", "es": "Equilibrio territorial: la mayor desviación respecto a la media es {dev:.1%}."},
    "risk_none": {"en": "No unit is below the achievability threshold.", "zh": "没有单位低于可达成性阈值。", "es": "Ninguna unidad está por debajo del umbral de alcanzabilidad."},
    # Targets
    "potential": {"en": "Potential", "zh": "市场潜力", "es": "Potencial"},
    "growth_asked": {"en": "Growth asked", "zh": "要求增长率", "es": "Crecimiento pedido"},
    "probability": {"en": "Chance of meeting", "zh": "达成概率", "es": "Probabilidad de cumplir"},
    "flag": {"en": "At risk", "zh": "风险", "es": "En riesgo"},
    "bound_applied": {"en": "Bound applied", "zh": "约束", "es": "Límite aplicado"},
    "target_to_date": {"en": "Target to date", "zh": "累计目标", "es": "Objetivo a la fecha"},
    "actual_to_date": {"en": "Actual to date", "zh": "累计实际", "es": "Real a la fecha"},
    "projection": {"en": "Projection", "zh": "全年预计", "es": "Proyección"},
    "projected_achievement": {"en": "Projected achievement", "zh": "预计达成率", "es": "Cumplimiento proyectado"},
    "gap_to_date": {"en": "Gap to date", "zh": "累计差额", "es": "Brecha a la fecha"},
    "daily_rate_needed": {"en": "Needed per working day", "zh": "剩余日均需完成", "es": "Necesario por día laborable"},
    "rank": {"en": "Rank", "zh": "排名", "es": "Puesto"},
    "declining": {"en": "Customers selling less than last year", "zh": "同比下滑客户", "es": "Clientes que venden menos que el año anterior"},
    "change": {"en": "Change", "zh": "变化", "es": "Cambio"},
    "stretch": {"en": "Stretch", "zh": "目标系数", "es": "Sobreasignación"},
    "spread_of_growth": {"en": "Spread of growth asked of customers", "zh": "客户要求增长率分布", "es": "Dispersión del crecimiento pedido"},
    "none": {"en": "none", "zh": "无", "es": "ninguno"},
    "lower": {"en": "lower bound", "zh": "下限", "es": "límite inferior"},
    "upper": {"en": "upper bound", "zh": "上限", "es": "límite superior"},
    # Forecast
    "backtest_accuracy": {"en": "Backtest accuracy", "zh": "回测准确度", "es": "Precisión en el backtest"},
    "coverage": {"en": "Interval coverage", "zh": "区间覆盖率", "es": "Cobertura del intervalo"},
    "model": {"en": "Model", "zh": "模型", "es": "Modelo"},
    "level": {"en": "Level", "zh": "层级", "es": "Nivel"},
    "history": {"en": "History", "zh": "历史", "es": "Historia"},
    "interval_80": {"en": "80% interval", "zh": "80% 区间", "es": "Intervalo 80%"},
    "interval_95": {"en": "95% interval", "zh": "95% 区间", "es": "Intervalo 95%"},
    "plan_year_baseline": {"en": "Plan-year baseline by month", "zh": "计划年度基线(按月)", "es": "Línea base del año del plan por mes"},
    "series": {"en": "Series", "zh": "序列数", "es": "Series"},
    # Explorers
    "targets_explorer": {"en": "Target explorer", "zh": "目标分解探索", "es": "Explorador de objetivos"},
    "staffing_explorer": {"en": "Staffing explorer", "zh": "人员配置探索", "es": "Explorador de plantilla"},
    "territory_explorer": {"en": "Territory explorer", "zh": "销售区域探索", "es": "Explorador de territorios"},
    "basis_weights": {"en": "Basis weights", "zh": "分解依据权重", "es": "Pesos de las bases"},
    "blend": {"en": "Blend used", "zh": "实际权重", "es": "Mezcla usada"},
    "growth_bounds": {"en": "Growth bounds", "zh": "增长率上下限", "es": "Límites de crecimiento"},
    "apply_bounds": {"en": "Apply bounds", "zh": "启用上下限", "es": "Aplicar límites"},
    "even": {"en": "Even split", "zh": "平均分配", "es": "Reparto igual"},
    "base": {"en": "Base", "zh": "基数", "es": "Base"},
    "shared": {"en": "Targets add up to", "zh": "分解合计", "es": "Los objetivos suman"},
    "top_units": {"en": "Largest targets", "zh": "目标最大的单位", "es": "Objetivos mayores"},
    "at_lower": {"en": "At lower bound", "zh": "触及下限", "es": "En el límite inferior"},
    "at_upper": {"en": "At upper bound", "zh": "触及上限", "es": "En el límite superior"},
    "ramp_months": {"en": "Ramp months", "zh": "爬坡月数", "es": "Meses de rampa"},
    "ramp_shape": {"en": "Ramp shape", "zh": "爬坡曲线", "es": "Forma de la rampa"},
    "attrition": {"en": "Attrition / year", "zh": "年流失率", "es": "Rotación anual"},
    "lead_time": {"en": "Hiring lead (months)", "zh": "招聘周期(月)", "es": "Plazo de contratación (meses)"},
    "limit_hires": {"en": "Limit hires a month", "zh": "限制每月招聘人数", "es": "Limitar contrataciones al mes"},
    "max_hires": {"en": "Max hires a month", "zh": "每月最多招聘", "es": "Máx. contrataciones al mes"},
    "total_hires": {"en": "Hires in total", "zh": "招聘总数", "es": "Contrataciones totales"},
    "headcount_end": {"en": "Headcount at the end", "zh": "期末人数", "es": "Plantilla final"},
    "months_short": {"en": "Months short", "zh": "未达标月数", "es": "Meses con déficit"},
    "shortfall": {"en": "Shortfall", "zh": "缺口", "es": "Déficit"},
    "status": {"en": "Status", "zh": "状态", "es": "Estado"},
    "ramp": {"en": "Ramp", "zh": "爬坡", "es": "Rampa"},
    "territories": {"en": "Territories", "zh": "区域数", "es": "Territorios"},
    "tolerance": {"en": "Tolerance", "zh": "容差", "es": "Tolerancia"},
    "limit_disruption": {"en": "Limit changes", "zh": "限制调整幅度", "es": "Limitar cambios"},
    "disruption": {"en": "Max share moved", "zh": "最大调整比例", "es": "Máx. proporción movida"},
    "deviation": {"en": "Deviation from the mean territory", "zh": "与平均区域的偏差", "es": "Desviación del territorio medio"},
    "moved": {"en": "Moved", "zh": "调整", "es": "Movido"},
    "map": {"en": "Map", "zh": "地图", "es": "Mapa"},
    "workload": {"en": "Workload", "zh": "工作量", "es": "Carga de trabajo"},
    "feasible": {"en": "Within every tolerance", "zh": "全部在容差内", "es": "Dentro de todas las tolerancias"},
    "not_feasible": {"en": "Some tolerance not met", "zh": "部分未满足容差", "es": "Alguna tolerancia no se cumple"},
    "updated_in": {"en": "Updated in", "zh": "更新耗时", "es": "Actualizado en"},
    "kept": {"en": "The previous result is kept.", "zh": "保留上一次的结果。", "es": "Se conserva el resultado anterior."},
    "cannot": {"en": "Cannot compute this:", "zh": "无法计算:", "es": "No se puede calcular:"},
    "note": {"en": "Note", "zh": "注意", "es": "Nota"},
    "linear": {"en": "Linear", "zh": "线性", "es": "Lineal"},
    "fast_start": {"en": "Fast start", "zh": "前快后慢", "es": "Inicio rápido"},
    "slow_start": {"en": "Slow start", "zh": "前慢后快", "es": "Inicio lento"},
    "as_given": {"en": "As given", "zh": "按参数", "es": "Según parámetros"},
    "distance": {"en": "Mean distance to centre", "zh": "到中心平均距离", "es": "Distancia media al centro"},
    "centre": {"en": "Centre", "zh": "中心", "es": "Centro"},
    "contiguous": {"en": "Connected", "zh": "连片", "es": "Contiguo"},
    "headcount_start": {"en": "Headcount at the start", "zh": "期初人数", "es": "Plantilla inicial"},
    "team": {"en": "Team", "zh": "团队", "es": "Equipo"},
    "computing": {"en": "Computing…", "zh": "计算中…", "es": "Calculando…"},
    "hires_starting": {"en": "Hires starting", "zh": "新入职人数", "es": "Altas"},
    # Staffing
    "capacity_title": {"en": "Capacity against the targets", "zh": "产能与目标对比", "es": "Capacidad frente a objetivos"},
    "schedule_title": {"en": "Hiring schedule (start month)", "zh": "招聘计划(入职月份)", "es": "Plan de contratación (mes de inicio)"},
    "fte": {"en": "FTE needed", "zh": "所需人力(全职当量)", "es": "FTE necesarios"},
    "headcount": {"en": "Headcount now", "zh": "现有人数", "es": "Plantilla actual"},
    "workload_title": {"en": "Workload against headcount, by region and role", "zh": "各大区、岗位工作量与现有人数", "es": "Carga de trabajo frente a plantilla, por región y puesto"},
    "base_pay": {"en": "Base pay", "zh": "底薪", "es": "Salario base"},
    "commission": {"en": "Commission", "zh": "提成", "es": "Comisión"},
    "pay_title": {"en": "Pay cost a month by achievement of target", "zh": "不同达成率下的月度薪酬成本", "es": "Coste salarial mensual según cumplimiento"},
    # Pages
    "longitude": {"en": "Longitude", "zh": "经度", "es": "Longitud"},
    "latitude": {"en": "Latitude", "zh": "纬度", "es": "Latitud"},
    "proposed_territories": {"en": "Proposed territories", "zh": "建议的销售区域", "es": "Territorios propuestos"},
    "today": {"en": "Today", "zh": "现状", "es": "Hoy"},
    "proposed": {"en": "Proposed", "zh": "建议方案", "es": "Propuesta"},
    "partial_year": {"en": "* partial year", "zh": "* 非完整年度", "es": "* año incompleto"},
    # ---- the plan a sales director issues (issue 12) --------------------------------------
    "bound_adjustment": {"en": "Bound or lock adjustment", "zh": "上下限/锁定调整", "es": "Ajuste por límite o bloqueo"},
    "redistribution": {"en": "Redistribution received", "zh": "再分配所得", "es": "Redistribución recibida"},
    "last_year_active": {"en": "of which active customers", "zh": "其中:在营客户", "es": "de ello, clientes activos"},
    "last_year_churned": {"en": "of which customers gone before the plan year", "zh": "其中:已流失客户",
                          "es": "de ello, clientes perdidos antes del año del plan"},
    "baseline_festival": {"en": "Baseline (Spring Festival on the plan year's date)", "zh": "基线(春节按计划年日期)",
                          "es": "Línea base (Año Nuevo chino en su fecha del año del plan)"},
    "mix_share": {"en": "Mix share", "zh": "结构占比", "es": "Peso en la mezcla"},

    # Explorers: against the run, saving
    "headline_targets_explorer": {"en": "Targets add up to", "zh": "目标合计", "es": "Los objetivos suman"},
    "headline_staffing_explorer": {"en": "Hires in total", "zh": "招聘总数", "es": "Contrataciones totales"},
    "headline_territory_explorer": {"en": "Largest deviation", "zh": "最大偏差", "es": "Mayor desviación"},
    "versus_run": {"en": "in the run", "zh": "本次运行", "es": "en la ejecución"},
    "scenario_name": {"en": "new scenario name", "zh": "新方案名称", "es": "nombre del nuevo escenario"},
    "save_as_scenario": {"en": "Save as a scenario", "zh": "另存为方案", "es": "Guardar como escenario"},
    "run_it": {"en": "Run it", "zh": "运行", "es": "Ejecutarlo"},
    "saved_to": {"en": "Saved to", "zh": "已保存到", "es": "Guardado en"},
    "run_folder": {"en": "Run folder", "zh": "运行结果文件夹", "es": "Carpeta de la ejecución"},

}


def has_word(key: str) -> bool:
    """Whether the catalogue has ``key``."""
    return key in WORDS


def word(key: str, language: str = "en") -> str:
    """The text of ``key`` in ``language`` (en, zh or es).

    An unknown key is a developer error: it raises KeyError naming the closest key.
    """
    if language not in LANGUAGES:
        raise ParamsError(f"The 'language' parameter must be one of {', '.join(LANGUAGES)}. Got {language!r} instead.")
    entry = WORDS.get(key)
    if entry is None:
        hint = difflib.get_close_matches(key, list(WORDS), n=1)
        raise KeyError(f"no word {key!r} in salesmodel.vocabulary" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    return entry[language]
