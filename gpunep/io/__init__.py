"""Files in and out: structures and GPUMD's prediction files.

Extended XYZ with GPUMD's conventions (:mod:`~gpunep.io.extxyz`) and GPUMD's
``*_train.out`` files (:mod:`~gpunep.io.gpumd_files`).
"""
