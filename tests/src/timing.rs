//! Clocks and statistics for the browser benchmarks.

/// The page's monotonic clock, in milliseconds.
pub fn now() -> f64 {
    web_sys::window().expect("a window").performance().expect("performance").now()
}

pub fn median(values: Vec<f64>) -> f64 {
    percentile(&values, 0.5)
}

/// The value below which a share `q` of `values` falls.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}
