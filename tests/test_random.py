import json

import numpy as np
import pytest

import minigan as mg


def test_manual_seed_makes_the_default_generator_repeat():
    mg.manual_seed(5)
    first = mg.randn(4).numpy(), mg.rand(3).numpy()
    mg.manual_seed(5)
    second = mg.randn(4).numpy(), mg.rand(3).numpy()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mg.manual_seed(6)
    assert not np.array_equal(mg.randn(4).numpy(), first[0])


def test_a_state_round_trips_through_its_json_string():
    g = mg.Generator(1)
    g.normal((3,))
    state = g.get_state()
    assert isinstance(json.loads(state), dict)
    ahead = g.normal((5,)), g.uniform((2,)), g.permutation(6), g.integers(0, 9, (4,)), g.bernoulli((8,), 0.5)
    g.set_state(state)
    again = g.normal((5,)), g.uniform((2,)), g.permutation(6), g.integers(0, 9, (4,)), g.bernoulli((8,), 0.5)
    for a, b in zip(ahead, again):
        np.testing.assert_array_equal(a, b)
    other = mg.Generator(99)
    other.set_state(state)
    np.testing.assert_array_equal(other.normal((5,)), ahead[0])


def test_a_generator_of_its_own_leaves_the_default_one_alone():
    mg.manual_seed(3)
    expected = mg.randn(4).numpy()
    mg.manual_seed(3)
    mg.Generator(3).normal((10,))
    np.testing.assert_array_equal(mg.randn(4).numpy(), expected)


def test_draws_have_the_asked_shape_dtype_and_distribution():
    g = mg.Generator(0)
    x = g.normal((200_000,), np.float64, mean=2.0, std=3.0)
    assert x.dtype == np.float64 and abs(x.mean() - 2.0) < 0.03 and abs(x.std() - 3.0) < 0.03
    u = g.uniform((200_000,), low=-1.0, high=3.0)
    assert u.dtype == np.float32 and u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.02
    mask = g.bernoulli((200_000,), 0.3)
    assert mask.dtype == np.bool_ and abs(mask.mean() - 0.3) < 0.01
    assert sorted(g.permutation(7).tolist()) == list(range(7))
    ints = g.integers(2, 5, (1000,))
    assert ints.min() == 2 and ints.max() == 4
    assert g.normal((2,), np.float16).dtype == np.float16


@pytest.mark.parametrize("state", [None, 5, "not json", "[1, 2]", '{"bit_generator": "MT19937", "state": {}}',
                                   '{"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0, '
                                   '"uinteger": 0}'])
def test_set_state_refuses_what_get_state_did_not_return_and_changes_nothing(state):
    g = mg.Generator(4)
    before = g.get_state()
    with pytest.raises(ValueError, match="Generator.set_state: expected the string get_state"):
        g.set_state(state)
    assert g.get_state() == before


@pytest.mark.parametrize("seed, error", [("a", TypeError), (-1, ValueError), (1.5, TypeError), ([1, -2], ValueError)])
def test_a_bad_seed_is_refused_naming_it(seed, error):
    with pytest.raises(error, match="Generator: seed must be None, an int >= 0 or a sequence of them, got"):
        mg.Generator(seed)
