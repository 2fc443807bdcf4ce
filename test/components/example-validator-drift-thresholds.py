# The noise of each drift measure over random 230/114 re-splits of penguins (the sizes of a 2:1 split):
# what SchemaGen's default thresholds (components/schema-gen/infer-schema.ts) are sized against.
# Run: python3 example-validator-drift-thresholds.py <vega-datasets>/data/penguins.json 1500 (scipy, numpy).
# Numeric JSD here uses a shared 20-bucket grid, not TFDV's alignment of two 10-bucket histograms.
import json, numpy as np, sys
from scipy import stats
rows = json.load(open(sys.argv[1]))
rng = np.random.default_rng(0)
num = ['Beak Length (mm)','Beak Depth (mm)','Flipper Length (mm)','Body Mass (g)']
cat = ['Species','Island','Sex']
def psi(p,q):
    p=np.maximum(p,1e-4); q=np.maximum(q,1e-4); return np.sum((q-p)*np.log(q/p))
def jsd(p,q):
    p=p/p.sum(); q=q/q.sum(); m=(p+q)/2
    f=lambda a: np.sum(a[a>0]*np.log2(a[a>0]/m[a>0]))
    return (f(p)+f(q))/2
res = {k: [] for k in ['W','PSI','JSD','Linf','PSIc','JSDc']}
for it in range(int(sys.argv[2]) if len(sys.argv) > 2 else 500):
    idx = rng.permutation(len(rows)); tr = [rows[i] for i in idx[:230]]; ev = [rows[i] for i in idx[230:]]
    for f in num:
        a = np.array([r[f] for r in tr if r[f] is not None], float); b = np.array([r[f] for r in ev if r[f] is not None], float)
        res['W'].append(stats.wasserstein_distance(a,b)/a.std())
        e = np.unique(np.quantile(a, np.arange(1,10)/10, method='inverted_cdf'))
        fa = np.diff(np.concatenate([[0],[np.mean(a<=x) for x in e],[1]])); fb = np.diff(np.concatenate([[0],[np.mean(b<=x) for x in e],[1]]))
        res['PSI'].append(psi(fa,fb))
        ha,_ = np.histogram(a, bins=np.linspace(a.min(),a.max(),11)); hb,_ = np.histogram(b, bins=np.linspace(b.min(), b.max(), 11))
        # TFDV alignment approximated by a shared 20-bin grid over both ranges
        lo,hi=min(a.min(),b.min()),max(a.max(),b.max()); g=np.linspace(lo,hi,21)
        res['JSD'].append(jsd(np.histogram(a,g)[0].astype(float), np.histogram(b,g)[0].astype(float)))
    for f in cat:
        ks = sorted({str(r[f]) for r in rows})
        a = np.array([sum(1 for r in tr if str(r[f])==k) for k in ks], float); b = np.array([sum(1 for r in ev if str(r[f])==k) for k in ks], float)
        res['Linf'].append(np.max(np.abs(a/a.sum()-b/b.sum()))); res['PSIc'].append(psi(a/a.sum(), b/b.sum())); res['JSDc'].append(jsd(a,b))
for k,v in res.items():
    v=np.array(v); print(k, 'p95 %.3f p99 %.3f p99.5 %.3f max %.3f' % (np.quantile(v,.95), np.quantile(v,.99), np.quantile(v,.995), v.max()))
