"""Human calibration samples: draw a probability sample of segments (or whole interviews) for
human coding, read the human codes back, and let tracking correct the coder's figures with them.

Modules:

- :mod:`.tables` — the ONE owner of the calibration tables (``calibration_samples``,
  ``calibration_units``, ``calibration_codes``) and of the project id; everyone else calls it.
- :mod:`.design` — stratified allocation and draws (numpy, no store), with inclusion probabilities.
- :mod:`.sample` — a sample of a project: frame, strata, optional over-sampling of uncertain
  segments, the coding sheet (``themes sample``).
- :mod:`.codes` — reading a coded sheet back and checking it against the samples (``themes calibrate``).
- :mod:`.drift` — the coder against the human codes, per wave, and its drift between waves.

The estimator itself (design-based supervised learning) lives with tracking, in
:mod:`textmine.track.calibrated`, because it works on tracking's clusters and bootstrap.
"""
