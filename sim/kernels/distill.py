"""Knowledge-distillation loss (Hinton, Vinyals & Dean 2015) in a fixed order of accumulation.

Uses ``dense.det_exp`` / ``dense.det_log`` (fixed polynomials), so the loss and its gradient are
the same bits on every machine, like ``dense.softmax_xent``.
"""
import numpy as np
from numba import njit

from .dense import det_exp, det_log


@njit(cache=True, nogil=True)
def _log_softmax_row(z, t, out):
    zmax = np.float64(z[0]) / t
    for j in range(1, z.shape[0]):
        v = np.float64(z[j]) / t
        if v > zmax:
            zmax = v
    s = 0.0
    for j in range(z.shape[0]):
        s += det_exp(np.float64(z[j]) / t - zmax)
    lse = det_log(s)
    for j in range(z.shape[0]):
        out[j] = (np.float64(z[j]) / t - zmax) - lse


@njit(cache=True, nogil=True)
def distill_xent(student, teacher, labels, temperature, weight, dlogits, row_loss):
    """Per row: ``(1 - weight) * CE(softmax(s), y) + weight * T^2 * CE(softmax(t/T), softmax(s/T))``.

    The soft term is scaled by T^2 so its gradient keeps its size as T changes (Hinton et al.,
    Sec. 2). ``dlogits`` (float32) gets the gradient of the mean loss w.r.t. the student logits;
    returns the mean loss in nats (rows summed in order)."""
    n, c = student.shape
    ls = np.empty(c)
    lsT = np.empty(c)
    ltT = np.empty(c)
    total = 0.0
    for i in range(n):
        _log_softmax_row(student[i], 1.0, ls)
        _log_softmax_row(student[i], temperature, lsT)
        _log_softmax_row(teacher[i], temperature, ltT)
        hard = -ls[labels[i]]
        soft = 0.0
        for j in range(c):
            soft -= det_exp(ltT[j]) * lsT[j]
        row_loss[i] = (1.0 - weight) * hard + weight * temperature * temperature * soft
        for j in range(c):
            d_hard = det_exp(ls[j]) - (1.0 if j == labels[i] else 0.0)
            d_soft = temperature * (det_exp(lsT[j]) - det_exp(ltT[j]))  # T^2 * (q - p) / T
            dlogits[i, j] = np.float32(((1.0 - weight) * d_hard + weight * d_soft) / n)
        total += row_loss[i]
    return total / n
