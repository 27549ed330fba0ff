"""Optional export tooling: the fixture zoo, ExecuTorch-side oracle summaries, the real
partitioners driven from an ETRecord, and provenance (module and line) from an ETRecord.

This subpackage is the only part of edgeinspect that imports torch or executorch.
Nothing else in the library may import it.
"""
