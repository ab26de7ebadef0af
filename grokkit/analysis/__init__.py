"""Analysis of trained models: the Fourier basis and transforms (``fourier``), the group behind each task (``groups``)."""
