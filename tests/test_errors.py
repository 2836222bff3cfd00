from salesmodel.errors import InfeasibleError, InputError, ParamsError, RunError, short_list


def test_exit_codes_by_kind():
    assert InputError("x").exit_code == 2
    assert ParamsError("x").exit_code == 2
    assert InfeasibleError("x").exit_code == 2
    assert RunError("x").exit_code == 1


def test_short_list_says_how_many_more():
    assert short_list(range(10), limit=3) == "0, 1, 2 (and 7 more)"
    assert short_list(["a"]) == "'a'"


def test_main_verbs_are_reexported_from_the_package():
    import salesmodel as sm

    for verb, module in sm._VERBS.items():
        assert getattr(sm, verb).__module__.startswith(module), verb
