import numpy as np
from scipy import stats, special
from scipy.spatial.distance import jensenshannon
a = np.array([1,2,2,3,4,5,5,5,6,8], float)
b = np.array([2,3,3,4,6,7,7,8,9,10,11], float)
r = stats.ks_2samp(a, b)
en = len(a)*len(b)/(len(a)+len(b))
print('ks D', r.statistic, 'kstwobign', stats.kstwobign.sf(np.sqrt(en)*r.statistic), 'asymp', stats.ks_2samp(a,b,method='asymp').pvalue)
print('W1/std', stats.wasserstein_distance(a, b)/np.std(a), 'W1', stats.wasserstein_distance(a,b))
edges = np.unique(np.quantile(a, np.arange(1,10)/10, method='inverted_cdf'))
def fr(x):
    c = [np.sum(x <= edges[0])] + [np.sum((x > edges[i-1]) & (x <= edges[i])) for i in range(1,len(edges))] + [np.sum(x > edges[-1])]
    return np.maximum(np.array(c)/len(x), 1e-4)
p, q = fr(a), fr(b)
print('psi edges', edges, 'psi', np.sum((q-p)*np.log(q/p)))
for lam in [0.3, 0.8, 1.0, 1.18, 1.5, 2.5]: print('kstwobign', lam, stats.kstwobign.sf(lam))
for (s, x) in [(0.5, 0.2), (1.5, 4.0), (4.5, 3.0), (10, 25.0), (150, 170.0), (2, 0.001)]: print('gammaincc', s, x, special.gammaincc(s, x))
A = {'a':10,'b':20,'c':30}; B = {'a':15,'b':25,'d':5}
keys = sorted(set(A)|set(B))
pa = np.array([A.get(k,0) for k in keys], float); pb = np.array([B.get(k,0) for k in keys], float)
print('linf', np.max(np.abs(pa/pa.sum()-pb/pb.sum())))
print('jsd cat', jensenshannon(pa, pb, base=2)**2)
c = stats.chi2_contingency(np.array([pa, pb]), correction=False)
print('chi2', c.statistic, c.dof, c.pvalue, c.expected_freq.min())
P = np.maximum(pa/pa.sum(), 1e-4); Q = np.maximum(pb/pb.sum(), 1e-4)
print('psi cat', np.sum((Q-P)*np.log(Q/P)))
# Histograms: uniform density within buckets, integrated on the union of edges; a point bucket at 1.0 and NaNs.
H1 = [(0,1,2),(1,2,4),(2,3,4)]; H1pt = {1.0: 3}; H1nan = 1
H2 = [(0.5,1.5,3),(1.5,2.5,3),(2.5,3.5,4)]; H2pt = {}; H2nan = 2
E = sorted({e for h in (H1,H2) for (l,u,_) in h for e in (l,u)})
def reb(H):
    out = []
    for lo, hi in zip(E[:-1], E[1:]):
        out.append(sum(n*max(0, min(hi,u)-max(lo,l))/(u-l) for (l,u,n) in H))
    return out
v1 = reb(H1) + [H1pt.get(1.0,0)] + [H1nan, 0]
v2 = reb(H2) + [H2pt.get(1.0,0)] + [H2nan, 0]
print('jsd hist', jensenshannon(v1, v2, base=2)**2)
# W1 and KS of the same two histograms (no point mass, no NaN) by integrating the piecewise-linear CDFs on a fine grid.
xs = np.linspace(-0.5, 4, 900001)
def cdf(H):
    tot = sum(n for (_,_,n) in H)
    return sum(n*np.clip((xs-l)/(u-l),0,1) for (l,u,n) in H)/tot
d = cdf(H1)-cdf(H2)
print('hist W1', np.trapezoid(np.abs(d), xs), 'hist KS', np.max(np.abs(d)))
# Exact values counted in TFDV's aligned buckets (edges 0.2, 0.6, 1.55, 2, 2.9, 3.4; a value at most an edge falls below it).
print('jsd exact aligned', jensenshannon([1, 1, 2, 0, 1, 0, 0], [0, 1, 2, 0, 0, 1, 0], base=2)**2)
