import pytest

from dashboard.bands import ewma_band


def test_a_steady_series_sits_inside_its_band():
    band = ewma_band([0.2] * 30, [50] * 30, halflife=6, z=3)
    assert all(b is None for b in band[:3])
    for b in band[3:]:
        assert b is not None
        assert b.lower < 0.2 < b.upper
        assert b.mean == pytest.approx(0.2)


def test_a_surge_leaves_the_band():
    shares = [0.2] * 30 + [0.8]
    band = ewma_band(shares, [50] * 31, halflife=6, z=3)
    assert band[-1] is not None and shares[-1] > band[-1].upper


def test_the_band_at_a_point_ignores_that_point():
    a = ewma_band([0.2] * 10 + [0.9], [40] * 11, halflife=4, z=2)
    b = ewma_band([0.2] * 10 + [0.1], [40] * 11, halflife=4, z=2)
    assert a[-1] == b[-1]


def test_empty_windows_get_no_band_and_do_not_move_it():
    band = ewma_band([0.2] * 5 + [0.0] + [0.2], [30] * 5 + [0] + [30], halflife=3, z=3)
    assert band[5] is None
    assert band[6] is not None and band[6].mean == pytest.approx(0.2)


def test_band_is_clipped_to_shares_and_rejects_bad_input():
    band = ewma_band([0.01] * 10, [2] * 10, halflife=2, z=10)
    assert all(b is None or (b.lower >= 0.0 and b.upper <= 1.0) for b in band)
    with pytest.raises(ValueError):
        ewma_band([0.1], [1, 2], halflife=2, z=3)
    with pytest.raises(ValueError):
        ewma_band([0.1], [1], halflife=0, z=3)
