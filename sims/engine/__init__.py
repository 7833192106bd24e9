"""The engine: everything a study stands on, and nothing that knows about a study.

Imports inside the engine run upward only through this list (a module imports those above it):

* ``validation``  declarative checks (Interval, check_number, check_array ...): ValueErrors that name the
  argument, its value and the allowed range;
* ``backend``     the Array-API namespace (numpy, CuPy, array-api-strict), dtypes, host random streams;
* ``stats``       Student-t intervals and crossings, shared by the studies, theory and the reports;
* ``metrics``     accuracy, margins, Fisher separation, confusion matrices;
* ``generators``  planted spike-and-uniform features, labels, label / input corruption, few-shot, shifts;
* ``codes``       code families (mono, random, antipodal, frame), coherence and what a probe reads of a code;
* ``probes``      closed-form least squares / ridge and LDA (one factorization for every label set);
* ``lbfgs``       the batched solvers (L-BFGS, gradient descent) behind ``sgd``;
* ``sgd``         softmax / logistic / squared-hinge probes;
* ``toy_solvers`` the Adam solvers behind ``toy_model``;
* ``toy_model``   toy models of superposition, many trained at once.

The engine imports nothing from ``theory``, the studies, ``realdata`` or ``reports`` (a test checks it).
The short import path for users is ``from sims import ...`` (see ``docs/INTERFACES.md``).
"""
