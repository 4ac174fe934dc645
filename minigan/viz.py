"""The graph behind a tensor as Graphviz DOT text (render it with ``dot -Tsvg graph.dot``).

    print(minigan.viz.to_dot(loss))

One ellipse per tensor (its name if set, shape, dtype, and the gradient's norm once .grad
is set), one box per Function, and edges input -> op -> output.
"""
import numpy as np


def to_dot(t):
    """DOT text of the graph from ``t`` back to its leaves (walked with a stack, not recursion)."""
    lines, seen, stack = ["digraph minigan {", "  rankdir=BT;"], set(), [t]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        lines.append(f'  t{id(t)} [label="{_label(t)}"];')
        fn = t.grad_fn
        if fn is not None:
            lines.append(f'  f{id(fn)} [label="{fn.name}", shape=box];')
            lines.append(f"  f{id(fn)} -> t{id(t)};")
            lines.extend(f"  t{id(x)} -> f{id(fn)};" for x in fn.inputs)
            stack.extend(fn.inputs)
    return "\n".join(lines + ["}"]) + "\n"


def _label(t):
    rows = [t.name] if t.name else []
    rows.append(f"{t.shape} {t.dtype}")
    if t.grad is not None:
        rows.append(f"grad norm {np.linalg.norm(t.grad.numpy()):.4g}")
    return "\\n".join(row.replace("\\", "\\\\").replace('"', '\\"') for row in rows)
