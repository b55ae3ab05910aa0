// Corpus replayer used when libFuzzer is unavailable: runs the target over every file of the
// directories (or files) given as arguments and reports how many inputs ran.

pub fn replay(run: fn(&[u8])) {
    let mut n = 0usize;
    for arg in std::env::args().skip(1) {
        let path = std::path::PathBuf::from(arg);
        let files: Vec<_> = if path.is_dir() {
            std::fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path()).collect()
        } else {
            vec![path]
        };
        for f in files {
            if let Ok(data) = std::fs::read(&f) {
                run(&data);
                // Also every prefix, a cheap way to reach truncated inputs without a fuzzer.
                for cut in 0..data.len() {
                    run(&data[..cut]);
                }
                n += 1;
            }
        }
    }
    println!("replayed {n} inputs without a crash");
}
