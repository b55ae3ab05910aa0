use super::*;

/// Feeds `input` one split at a time and returns what hyper would see.
fn run(input: &[u8], step: usize) -> (Vec<u8>, State) {
    let mut s = Scanner::new(64 * 1024);
    let mut out = Vec::new();
    for part in input.chunks(step) {
        match s.feed(part) {
            None => out.extend_from_slice(part),
            Some(i) => {
                out.extend_from_slice(&part[..i]);
                out.extend_from_slice(POISON);
                break;
            }
        }
    }
    (out, s.state)
}

#[test]
fn passes_keep_alive_sequences_unchanged() {
    let input: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
        POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
        POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n\
        GET /z HTTP/1.1\r\n\r\n";
    for step in [1, 3, 7, input.len()] {
        let (out, state) = run(input, step);
        assert_eq!(out, input, "step {step}");
        assert_eq!(state, State::Head);
    }
}

#[test]
fn body_bytes_that_look_like_heads_are_not_judged() {
    let body = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    let mut input = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    input.extend_from_slice(body);
    let (out, state) = run(&input, 5);
    assert_eq!(out, input);
    assert_eq!(state, State::Head);
}

#[test]
fn refuses_te_with_cl_in_either_order() {
    for head in [
        &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n",
    ] {
        let (out, state) = run(head, 4);
        let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 3;
        assert_eq!(&out[..end], &head[..end]);
        assert_eq!(&out[end..], POISON);
        assert_eq!(state, State::Refused);
    }
}

#[test]
fn refuses_second_request_after_a_good_one() {
    let good: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
    let mut input = good.to_vec();
    input.extend_from_slice(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n");
    let (out, _) = run(&input, 100);
    assert_eq!(&out[..input.len() - 1], &input[..input.len() - 1]);
    assert_eq!(&out[input.len() - 1..], POISON);
}

#[test]
fn turns_off_for_h2_and_upgrades() {
    let (_, state) = run(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 1);
    assert_eq!(state, State::Off);
    let (_, state) = run(b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05", 9);
    assert_eq!(state, State::Off);
}

#[test]
fn refusal_points_at_the_final_head_byte() {
    let mut s = Scanner::new(64 * 1024);
    assert_eq!(s.feed(b"POST / HTTP/1.1\r\nContent-Length: 1\r\n"), None);
    assert_eq!(s.feed(b"Transfer-Encoding: chunked\r\n\r"), None);
    assert_eq!(s.feed(b"\nxyz"), Some(0));
    assert_eq!(s.feed(b"more"), Some(0));
}

#[test]
fn oversized_head_is_released_to_hyper() {
    let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
    input.resize(64 * 1024 + 10, b'a');
    let (out, state) = run(&input, 4096);
    assert_eq!(out, input);
    assert_eq!(state, State::Off);
}

/// One well-formed request: fixed-length, chunked (random chunking) or bodiless.
fn request(kind: u8, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match kind % 3 {
        0 => {
            out.extend_from_slice(
                format!("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            );
            out.extend_from_slice(body);
        }
        1 => {
            out.extend_from_slice(b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
            for part in body.chunks(chunk.max(1)) {
                out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
        _ => out.extend_from_slice(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
    }
    out
}

proptest::proptest! {
    /// Any keep-alive sequence of well-formed requests, split anywhere, passes unchanged.
    #[test]
    fn well_formed_sequences_pass(
        reqs in proptest::collection::vec((0u8..3, proptest::collection::vec(proptest::num::u8::ANY, 0..300), 1usize..50), 1..6),
        step in 1usize..97,
    ) {
        let input: Vec<u8> = reqs.iter().flat_map(|(k, b, c)| request(*k, b, *c)).collect();
        let (out, state) = run(&input, step);
        proptest::prop_assert_eq!(out, input);
        proptest::prop_assert_eq!(state, State::Head);
    }
}
