"""Files in and out: extended XYZ with GPUMD's conventions
(:mod:`~gpunep.io.extxyz`) and GPUMD's ``*_train.out`` files
(:mod:`~gpunep.io.gpumd_files`)."""
