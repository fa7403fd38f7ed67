"""The evaluation engine: one launch plan for every executor.

:mod:`~gpunep.engine.evaluator` runs a model's launches (neighbor lists from
:mod:`~gpunep.engine.neighbors`, then the plan of the model's type from
:mod:`gpunep.engine.plans`) on a kernel module of :mod:`gpunep.executors`,
with the model laid out by :mod:`~gpunep.engine.model_arrays`. It never
imports :mod:`gpunep.reference`: the reference is the independent check.
"""
