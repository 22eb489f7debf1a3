"""fit_variant (dpo_teach.bandit.variants): exact tabular fits of the pairwise DPO-family members,
checked against an independent objective written here from docs/family.md's formulas."""

import numpy as np
import pytest

from dpo_teach import bandit as b
from helpers import tabular_world as world

SMOOTH = ["ipo", "cdpo", "robust", "nca_pair", "bco_pair", "apo_zero", "apo_down"]
OPTS = {"cdpo": {"label_smoothing": 0.2}, "robust": {"label_smoothing": 0.2}}


def ls(z):
    return -np.logaddexp(0.0, -z)


def sig(z):
    return 1 / (1 + np.exp(-z))


def member_loss(loss, rw, rl, beta, label_smoothing=0.0, lambda_=50.0):
    """Per-example losses, straight from docs/family.md's formulas."""
    h, e = rw - rl, label_smoothing
    return {
        "sigmoid": lambda: -ls(beta * h),
        "ipo": lambda: (h - 1 / (2 * beta)) ** 2,
        "cdpo": lambda: -(1 - e) * ls(beta * h) - e * ls(-beta * h),
        "robust": lambda: (-(1 - e) * ls(beta * h) + e * ls(-beta * h)) / (1 - 2 * e),
        "hinge": lambda: np.maximum(0, 1 - beta * h),
        "nca_pair": lambda: -ls(beta * rw) - ls(-beta * rw) / 2 - ls(-beta * rl) / 2,
        "bco_pair": lambda: -ls(beta * rw) - ls(-beta * rl),
        "apo_zero": lambda: 1 - sig(beta * rw) + sig(beta * rl),
        "apo_down": lambda: sig(beta * rw) + 1 - sig(beta * h),
        "dpop": lambda: -ls(beta * (h - lambda_ * np.maximum(0, -rw))),
    }[loss]()


def objective(theta, loss, ref, chosen, rejected, beta, l2, **opts):
    logp = theta - np.log(np.exp(theta - theta.max()).sum()) - theta.max()
    r = logp - np.log(ref)
    u = beta * (theta - np.log(ref))
    return member_loss(loss, r[chosen], r[rejected], beta, **opts).mean() + 0.5 * l2 * u @ u


def logits(pi, ref):
    """log pi in the ridge's gauge: the constant that makes sum(theta - log ref) = 0."""
    theta = np.log(pi)
    return theta - (theta - np.log(ref)).mean()


def pairs(ref, r, n, seed, labeling="bt"):
    chosen, rejected = b.sample_preferences(ref, r, n, seed=seed)
    if labeling == "better":  # deterministic labels: the truly better answer wins
        swap = r[chosen] < r[rejected]
        chosen, rejected = np.where(swap, rejected, chosen), np.where(swap, chosen, rejected)
    return chosen, rejected


def directional(theta, v, step, *args, **kw):
    f = lambda t: objective(theta + t * v, *args, **kw)  # noqa: E731
    return (f(step) - f(-step)) / (2 * step), (f(step) - f(0.0)) / step


# --- first-order condition of every member ----------------------------------------------


@pytest.mark.parametrize("loss", ["sigmoid", *SMOOTH])
@pytest.mark.parametrize("beta,l2,labeling", [(0.5, 1e-6, "bt"), (2.0, 1e-6, "bt"), (0.5, 1e-2, "better")])
def test_smooth_members_satisfy_the_first_order_condition(loss, beta, l2, labeling):
    ref, r = world(6, 3)
    chosen, rejected = pairs(ref, r, 3000, 1, labeling)
    opts = OPTS.get(loss, {})
    pi = b.fit_variant(ref, chosen, rejected, beta, loss, l2=l2, **opts)
    assert pi.shape == (6,) and pi.dtype == np.float64 and (pi >= 0).all() and abs(pi.sum() - 1) < 1e-12
    if (pi == 0).any():
        pytest.skip("an answer's probability underflowed: no finite logits to differentiate at")
    theta = logits(pi, ref)
    for i in range(6):
        grad, _ = directional(theta, np.eye(6)[i], 1e-5, loss, ref, chosen, rejected, beta, l2, **opts)
        assert abs(grad) < 1e-8, (loss, i, grad)


@pytest.mark.parametrize("labeling", ["bt", "better"])
@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_hinge_is_the_ridge_minimiser_no_direction_descends(labeling, beta):
    ref, r = world(6, 3)
    chosen, rejected = pairs(ref, r, 5000, 1, labeling)
    l2 = 1e-6
    pi = b.fit_variant(ref, chosen, rejected, beta, "hinge", l2=l2)
    assert (pi > 0).all() and abs(pi.sum() - 1) < 1e-12
    theta = logits(pi, ref)
    rng = np.random.default_rng(0)
    dirs = [*np.eye(6), *-np.eye(6), *rng.normal(size=(20, 6))]
    for v in dirs:  # convex, kinked: every one-sided directional derivative is >= 0
        _, one_sided = directional(theta, v, 1e-7, "hinge", ref, chosen, rejected, beta, l2)
        assert one_sided > -1e-7, one_sided
    if labeling == "better":  # consistent labels: every compared pair beyond the margin
        h = np.log(pi / ref)
        assert (beta * (h[chosen] - h[rejected]) > 1 - 1e-9).all()


@pytest.mark.parametrize("l2", [1e-8, 1e-6, 1e-3, 0.5, 2.0])
@pytest.mark.parametrize("beta", [0.8, 3.0])
def test_hinge_mixed_labels_on_two_answers_has_its_closed_form(l2, beta):
    # 70 pairs y_1 > y_2 and 30 pairs y_2 > y_1; with u = (a, -a) the objective is
    # 0.7 max(0, 1 - 2a) + 0.3 max(0, 1 + 2a) + l2 a^2, minimised at 2a = min(1, 0.8 / l2).
    # At a small l2 the exact answer holds the majority pair at margin 1, where the KKT solve
    # used to cancel 0.3 / l2 against itself and end in LinAlgError (singular matrix).
    ref = np.array([0.7, 0.3])
    chosen = np.array([0] * 70 + [1] * 30)
    pi = b.fit_variant(ref, chosen, 1 - chosen, beta, "hinge", l2=l2)
    assert beta * np.log(pi / ref) @ [1, -1] == pytest.approx(min(1.0, 0.8 / l2), abs=1e-9)


# --- sigmoid is fit_dpo; closed forms; the known behaviour -------------------------------


@pytest.mark.parametrize("l2", [1e-6, 1e-2, 0.0])
def test_sigmoid_is_fit_dpo(l2):
    ref, r = world(7, 5)
    chosen, rejected = pairs(ref, r, 2000, 5)
    pi = b.fit_variant(ref, chosen, rejected, 0.3, "sigmoid", l2=l2)
    assert b.total_variation(pi, b.fit_dpo(ref, chosen, rejected, 0.3, l2=l2)) < 1e-10


def test_two_answers_ipo_and_cdpo_match_their_closed_forms():
    ref = np.array([0.7, 0.3])
    chosen = np.array([0] * 70 + [1] * 30)
    rejected = 1 - chosen
    p, beta, e = 0.7, 0.8, 0.1
    ipo = b.fit_variant(ref, chosen, rejected, beta, "ipo", l2=1e-14)
    h = np.log(ipo / ref) @ [1, -1]
    assert h == pytest.approx((2 * p - 1) / (2 * beta), abs=1e-9)  # d/dh of p(h-t)^2 + (1-p)(h+t)^2
    cdpo = b.fit_variant(ref, chosen, rejected, beta, "cdpo", l2=1e-14, label_smoothing=e)
    q = p * (1 - e) + (1 - p) * e  # cDPO = DPO on softened labels
    assert np.log(cdpo / ref) @ [1, -1] == pytest.approx(np.log(q / (1 - q)) / beta, abs=1e-9)


def test_bradley_terry_labels_dpo_tracks_the_optimum_and_ipo_keeps_the_order():
    ref, r = world(6, 7)
    chosen, rejected = pairs(ref, r, 400_000, 7)
    beta = 0.5
    dpo = b.fit_variant(ref, chosen, rejected, beta, "sigmoid")
    assert b.total_variation(dpo, b.optimal_policy(ref, r, beta)) < 0.02
    ipo = b.fit_variant(ref, chosen, rejected, beta, "ipo")
    assert (np.argsort(np.log(ipo / ref)) == np.argsort(r)).all()
    assert b.expected_reward(ipo, r) > b.expected_reward(ref, r)
    assert b.kl_divergence(ipo, ref) < b.kl_divergence(dpo, ref)


def test_deterministic_labels_ipo_kl_falls_with_beta_dpo_kl_is_set_by_the_ridge():
    ref, r = world(6, 11)
    chosen, rejected = pairs(ref, r, 20_000, 11, "better")
    kl = {
        (loss, beta, l2): b.kl_divergence(b.fit_variant(ref, chosen, rejected, beta, loss, l2=l2), ref)
        for loss in ("ipo", "sigmoid")
        for beta in (0.1, 0.5, 2.0)
        for l2 in (1e-2, 1e-8)
    }
    assert kl["ipo", 0.1, 1e-8] > kl["ipo", 0.5, 1e-8] > kl["ipo", 2.0, 1e-8] > 0
    # DPO: the loss only sees u = beta*(theta - log ref), so the ridge fixes u and the policy
    # saturates on the best answer at small beta, whatever beta is
    assert kl["sigmoid", 0.1, 1e-8] == pytest.approx(kl["sigmoid", 0.5, 1e-8], rel=1e-3)
    assert kl["sigmoid", 0.1, 1e-8] == pytest.approx(-np.log(ref[np.argmax(r)]), rel=1e-3)
    assert kl["sigmoid", 0.5, 1e-2] < kl["sigmoid", 0.5, 1e-8]  # a bigger ridge, a smaller KL
    assert kl["ipo", 0.5, 1e-8] < kl["sigmoid", 0.5, 1e-8]
    assert kl["ipo", 0.5, 1e-8] == pytest.approx(kl["ipo", 0.5, 1e-2], rel=0.05)  # IPO: ridge idle


# --- dpop: convex, kinked where a chosen answer sits exactly at the reference ---------------


@pytest.mark.parametrize(
    "beta,lambda_,l2,labeling",
    [(0.5, 50.0, 1e-6, "bt"), (0.5, 0.5, 1e-6, "bt"), (0.1, 1.0, 1e-6, "bt"), (0.5, 5.0, 1e-2, "better")],
)
def test_dpop_is_a_minimum_one_sided_derivatives_nonnegative(beta, lambda_, l2, labeling):
    ref, r = world(6, 3)
    chosen, rejected = pairs(ref, r, 3000, 1, labeling)
    pi = b.fit_variant(ref, chosen, rejected, beta, "dpop", lambda_=lambda_, l2=l2)
    theta = logits(pi, ref)
    args = ("dpop", ref, chosen, rejected, beta, l2)
    rng = np.random.default_rng(0)
    directions = [s * v for v in np.eye(6) for s in (1, -1)] + list(rng.normal(size=(20, 6)))
    for v in directions:  # at a kink the two one-sided derivatives differ; both must be >= 0
        _, forward = directional(theta, v, 1e-7, *args, lambda_=lambda_)
        assert forward > -1e-6, (v, forward)
    at_ref = np.abs(np.log(pi / ref))[np.unique(chosen)] < 1e-9
    if lambda_ == 50.0:  # a large penalty holds every chosen answer at its reference probability
        assert at_ref.all()
    else:
        assert 0 < at_ref.sum() < 6 or (np.log(pi / ref)[np.unique(chosen)] < 0).any()


def test_dpop_with_lambda_zero_is_dpo_and_a_large_lambda_keeps_chosen_answers_up():
    ref, r = world(6, 3)
    chosen, rejected = pairs(ref, r, 3000, 1)
    dpo = b.fit_variant(ref, chosen, rejected, 0.5, "sigmoid")
    assert 0.5 * np.abs(b.fit_variant(ref, chosen, rejected, 0.5, "dpop", lambda_=0.0) - dpo).sum() < 1e-10
    assert (np.log(dpo / ref)[np.unique(chosen)] < -1e-3).any()  # DPO lets some chosen answer fall
    pi = b.fit_variant(ref, chosen, rejected, 0.5, "dpop", lambda_=50.0)
    assert (np.log(pi / ref)[np.unique(chosen)] > -1e-9).all()  # DPOP does not


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"loss": "dpo"}, "use one of .*'ipo'.*'apo_down'"),
        ({"loss": None}, "use one of"),
        ({"loss": "ipo", "label_smoothing": 0.1}, "label_smoothing.*does not apply to loss='ipo'"),
        ({"loss": "cdpo", "lambda_": 1.0}, "lambda_.*does not apply.*label_smoothing"),
        ({"loss": "cdpo", "label_smoothing": 0.7}, "0 <= label_smoothing <= 0.5"),
        ({"loss": "robust", "label_smoothing": 0.5}, "label_smoothing < 0.5"),
        ({"loss": "robust", "label_smoothing": "0.1"}, "label_smoothing must be a number"),
        ({"loss": "ipo", "l2": 0.0}, "l2=0 is not supported.*l2 > 0"),
        ({"loss": "ipo", "l2": -1.0}, "l2 must be"),
        ({"loss": "dpop", "lambda_": -1.0}, "lambda_=-1.0 is out of range for loss='dpop'"),
        ({"loss": "dpop", "label_smoothing": 0.1}, "does not apply to loss='dpop': it takes only lambda_"),
        ({"loss": "ipo", "beta": 0.0}, "beta"),
    ],
)
def test_bad_input_says_what_to_do(kwargs, match):
    ref, r = world(4, 0)
    chosen, rejected = pairs(ref, r, 50, 0)
    kwargs = {"beta": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        b.fit_variant(ref, chosen, rejected, **kwargs)


def test_bad_data_is_refused_like_fit_dpo():
    with pytest.raises(ValueError, match="ref_probs"):
        b.fit_variant([0.5, 0.6], [0], [1], 0.5)
    with pytest.raises(ValueError, match="compare an answer with itself"):
        b.fit_variant([0.5, 0.5], [0], [0], 0.5)
