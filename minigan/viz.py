"""What a student looks at: the graph behind a tensor, and the code a call runs through.

    print(minigan.viz.to_dot(loss))        # Graphviz DOT text (render it with dot -Tsvg graph.dot)
    trail = minigan.viz.call_trail(loss.backward)   # {file in minigan/: [functions, in call order]}

``to_dot`` draws one ellipse per tensor (its name if set, shape, dtype, and the gradient's norm once
.grad is set), one box per Function, and edges input -> op -> output.
"""
import os
import sys

import numpy as np

PACKAGE = os.path.dirname(os.path.abspath(__file__))


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


def call_trail(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` and return the functions of minigan that it called, grouped by file
    (paths relative to the package, in the order first seen), each function once, by qualified name."""
    trail = {}

    def record(frame, event, arg):
        path = os.path.abspath(frame.f_code.co_filename)
        if event == "call" and path.startswith(PACKAGE + os.sep):
            names = trail.setdefault(os.path.relpath(path, PACKAGE), [])
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)  # qualified from Python 3.11
            if name not in names:
                names.append(name)
    previous = sys.getprofile()
    sys.setprofile(record)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return trail
