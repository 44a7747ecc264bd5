//! Hungarian-matched IoU (HM-IoU, Kohl et al. 2019 / CCDM): a one-to-one matching between the
//! sample set and the annotation set, both replicated to L = lcm(n, m) elements, maximising the
//! mean IoU of matched pairs.
//!
//! Replicating to lcm(n, m) and solving the L×L assignment is the same as the transportation
//! problem with supply L/n per sample and demand L/m per annotation (integral vertices), which is
//! what [`hungarian_matched_iou`] solves with successive shortest paths (Bellman–Ford on the
//! residual graph): O((n+m)·n·m) per augmentation instead of O(L³).

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Maximum mean IoU over one-to-one matchings of the replicated sets.
///
/// # Shapes
/// `iou`: n×m row-major, `iou[i*m + j] = IoU(p_i, g_j)`.
///
/// # Panics
/// If n or m is 0 or the matrix has the wrong size.
pub fn hungarian_matched_iou(iou: &[f64], n: usize, m: usize) -> f64 {
    assert!(n > 0 && m > 0, "both sets must be non-empty");
    assert_eq!(iou.len(), n * m, "iou matrix must be n×m");
    let g = gcd(n, m);
    let (supply, demand) = (m / g, n / g);
    let total = n * supply;
    // Nodes: 0 = source, 1..=n samples, n+1..=n+m annotations, n+m+1 = sink.
    let (src, sink) = (0, n + m + 1);
    let nodes = n + m + 2;
    let mut edges: Vec<(usize, usize, i64, f64)> = Vec::new(); // (from, to, cap, cost)
    let add = |edges: &mut Vec<_>, a: usize, b: usize, cap: i64, cost: f64| {
        edges.push((a, b, cap, cost));
        edges.push((b, a, 0, -cost));
    };
    for i in 0..n {
        add(&mut edges, src, 1 + i, supply as i64, 0.0);
        for j in 0..m {
            add(&mut edges, 1 + i, 1 + n + j, total as i64, -iou[i * m + j]);
        }
    }
    for j in 0..m {
        add(&mut edges, 1 + n + j, sink, demand as i64, 0.0);
    }
    let mut flow = 0usize;
    let mut cost = 0.0;
    while flow < total {
        let mut dist = vec![f64::INFINITY; nodes];
        let mut via = vec![usize::MAX; nodes];
        dist[src] = 0.0;
        for _ in 0..nodes {
            let mut changed = false;
            for (e, &(a, b, cap, c)) in edges.iter().enumerate() {
                if cap > 0 && dist[a].is_finite() && dist[a] + c < dist[b] - 1e-12 {
                    dist[b] = dist[a] + c;
                    via[b] = e;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if !dist[sink].is_finite() {
            break;
        }
        let mut push = i64::MAX;
        let mut v = sink;
        while v != src {
            let e = via[v];
            push = push.min(edges[e].2);
            v = edges[e].0;
        }
        let mut v = sink;
        while v != src {
            let e = via[v];
            edges[e].2 -= push;
            edges[e ^ 1].2 += push;
            v = edges[e].0;
        }
        flow += push as usize;
        cost += push as f64 * dist[sink];
    }
    -cost / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for pos in 0..=p.len() {
                let mut q = p.clone();
                q.insert(pos, n - 1);
                out.push(q);
            }
        }
        out
    }

    /// Brute force on the explicitly replicated L×L problem.
    fn brute(iou: &[f64], n: usize, m: usize) -> f64 {
        let l = n * m / gcd(n, m);
        permutations(l)
            .iter()
            .map(|p| (0..l).map(|a| iou[(a % n) * m + p[a] % m]).sum::<f64>() / l as f64)
            .fold(f64::MIN, f64::max)
    }

    #[test]
    fn matches_brute_force_on_small_sets() {
        let cases: &[(usize, usize)] = &[
            (1, 1),
            (2, 2),
            (3, 3),
            (2, 3),
            (3, 2),
            (1, 4),
            (4, 2),
            (6, 3),
        ];
        let mut seed = 7u64;
        for &(n, m) in cases {
            let iou: Vec<f64> = (0..n * m)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 11) as f64 / (1u64 << 53) as f64
                })
                .collect();
            let fast = hungarian_matched_iou(&iou, n, m);
            let slow = brute(&iou, n, m);
            assert!((fast - slow).abs() < 1e-9, "n={n} m={m}: {fast} vs {slow}");
        }
    }
}
