import pytest

from payments.fees import freelancer_net_cents, platform_fee_cents


@pytest.mark.parametrize(
    ("total", "fee", "net"),
    [
        (700, 349, 351),  # $7.00: the minimum fee applies
        (3878, 349, 3529),  # $38.78: 9% is $3.49 too
        (3877, 349, 3528),  # 9% would be $3.49 (3.4893): still the minimum
        (5050, 455, 4595),  # $50.50: 9% = $4.545, half-up to $4.55 (banker's rounding would give $4.54)
        (10000, 900, 9100),  # $100.00
        (123456, 11111, 112345),  # $1,234.56: 9% = $111.1104
        (1000000, 90000, 910000),  # $10,000.00, the highest listing price
    ],
)
def test_fee_table(total, fee, net):
    assert platform_fee_cents(total) == fee
    assert freelancer_net_cents(total) == net


def test_fee_never_exceeds_the_total_and_totals_are_not_negative():
    assert platform_fee_cents(200) == 200  # a total under the minimum fee leaves nothing to pay out
    with pytest.raises(ValueError):
        platform_fee_cents(-1)
