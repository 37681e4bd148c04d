//! Length-bucketed batching: texts are sorted by token count and cut into batches whose
//! padded size stays under a token budget, so short texts are not padded to long ones.

/// Caps on one forward pass. Padded tokens = texts × longest text in the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most texts in one batch.
    pub max_texts: usize,
    /// Most padded tokens in one batch (a single longer text still gets its own batch).
    pub max_tokens: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        // Measured on MiniLM (examples/throughput.rs): larger batches gain nothing on CPU
        // and the attention scores grow with texts × length².
        BatchLimits { max_texts: 32, max_tokens: 8192 }
    }
}

/// Groups text indices into batches: ascending token length, each batch within `limits`.
/// Every index appears in exactly one batch.
pub(crate) fn plan_batches(lengths: &[usize], limits: BatchLimits) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so this text is the batch's longest once added.
        let padded = (current.len() + 1) * lengths[i];
        if !current.is_empty() && (current.len() >= limits.max_texts || padded > limits.max_tokens) {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lengths: &[usize], limits: BatchLimits) -> Vec<Vec<usize>> {
        let batches = plan_batches(lengths, limits);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        for b in &batches {
            assert!(!b.is_empty());
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(b.len() <= limits.max_texts);
            assert!(b.len() == 1 || b.len() * longest <= limits.max_tokens, "{b:?}");
        }
        batches
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(plan_batches(&[], BatchLimits::default()).is_empty());
    }

    #[test]
    fn similar_lengths_share_batches() {
        let lengths = [200, 5, 201, 6, 199, 7];
        let limits = BatchLimits { max_texts: 3, max_tokens: 10_000 };
        let batches = check(&lengths, limits);
        assert_eq!(batches, vec![vec![1, 3, 5], vec![4, 0, 2]]);
    }

    #[test]
    fn token_budget_splits_and_oversized_text_stands_alone() {
        let lengths = [100, 100, 100, 100, 5000];
        let limits = BatchLimits { max_texts: 32, max_tokens: 250 };
        let batches = check(&lengths, limits);
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn many_mixed_lengths_respect_limits() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 7919) % 257 + 2).collect();
        check(&lengths, BatchLimits::default());
        check(&lengths, BatchLimits { max_texts: 1, max_tokens: 1 });
    }
}
