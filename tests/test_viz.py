import re
import sys

import numpy as np

import minigan as mg
from minigan.viz import to_dot


def _graph(dot):
    """(labels of the nodes by id, edges as (from, to) pairs) of DOT text from to_dot."""
    nodes = dict(re.findall(r'^\s+(\w+) \[label="(.*?)"', dot, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+);", dot, re.M)
    return nodes, edges


def test_dot_has_a_node_per_tensor_and_op_and_edges_from_inputs_through_ops_to_outputs():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    x.name = "x"
    w = mg.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    y = mg.exp(x) @ w
    nodes, edges = _graph(to_dot(y))
    by_label = {label.split("\\n")[0]: node for node, label in nodes.items()}
    assert set(by_label) == {"x", "Exp", "MatMul", "(2, 3) float64", "(3, 4) float32", "(2, 4) float64"}
    exp, matmul = by_label["Exp"], by_label["MatMul"]
    assert set(edges) == {(by_label["x"], exp), (exp, by_label["(2, 3) float64"]),
                          (by_label["(2, 3) float64"], matmul), (by_label["(3, 4) float32"], matmul),
                          (matmul, by_label["(2, 4) float64"])}
    assert all(a in nodes and b in nodes for a, b in edges)
    assert "grad norm" not in to_dot(y)


def test_dot_shows_the_grad_norm_of_leaves_and_retained_tensors_after_backward():
    x = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    labels = list(_graph(to_dot(loss))[0].values())
    for t in (x, h):
        assert f"(2,) float64\\ngrad norm {np.linalg.norm(t.grad.numpy()):.4g}" in labels
    assert sum("grad norm" in label for label in labels) == 2


def test_a_tensor_used_twice_has_one_node_and_two_edges():
    x = mg.tensor(np.ones(2), requires_grad=True)
    nodes, edges = _graph(to_dot(x * x))
    assert len(nodes) == 3 and len(edges) == 3
    assert edges.count(edges[-1]) == 2


def test_a_graph_deeper_than_the_recursion_limit_is_drawn():
    x = mg.tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0
    nodes, edges = _graph(to_dot(y))
    ops = sum(label == "Mul" for label in nodes.values())
    assert ops == 3 * sys.getrecursionlimit() and len(edges) == 3 * ops


def test_names_with_quotes_are_escaped():
    x = mg.tensor(np.ones(1))
    x.name = 'say "hi"'
    assert r'label="say \"hi\"\n(1,) float64"' in to_dot(x)
