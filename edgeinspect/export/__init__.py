"""Optional export tooling: the fixture zoo and ExecuTorch-side oracle summaries.

This subpackage is the only part of edgeinspect that imports torch or executorch.
Nothing else in the library may import it.
"""
