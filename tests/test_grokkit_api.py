"""The public names of ``grokkit`` resolve (they are imported lazily, so a typo would only show on use)."""

import grokkit


def test_every_public_name_resolves():
    for name in grokkit.__all__:
        assert getattr(grokkit, name) is not None, name
    assert callable(grokkit.train_many) and callable(grokkit.run_sweep) and callable(grokkit.write_comparison)
