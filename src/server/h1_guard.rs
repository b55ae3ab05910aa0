//! A byte-level guard in front of hyper's HTTP/1 parser that refuses request smuggling shapes.
//!
//! hyper follows RFC 9112 §6.3 for a request carrying both `Transfer-Encoding` and
//! `Content-Length`: it drops the length, reads the body as chunked and closes the connection
//! afterwards. The request still reaches the handler, and the handler cannot tell, because hyper
//! removes the `Content-Length` field. We want such requests refused outright and never forwarded,
//! so [`GuardedIo`] follows HTTP/1 message framing on the raw bytes (heads, fixed and chunked
//! bodies), reading straight into hyper's buffer and judging each request head when its final
//! byte arrives. When a head carries both fields, the read is cut just before that final byte
//! and hyper gets an invalid byte instead, so it fails to parse the head, answers
//! `400 Bad Request` and closes the connection. Everything else passes unchanged.
//!
//! The guard turns itself off (passes bytes through) for h2 connections, after an upgrade
//! request (the bytes that follow may be opaque; the server closes the connection when the upgrade
//! is declined) and for framing hyper itself rejects. It never parses more than one head at a
//! time, and remembers at most the configured head limit (never more than [`MAX_HEAD`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Upper bound on the head remembered for judging, whatever the configured limit.
pub const MAX_HEAD: usize = 1024 * 1024;

/// What hyper sees instead of the end of a refused head: a control byte is invalid in every part
/// of a request head, so hyper fails to parse it, answers 400 and closes the connection.
const POISON: &[u8] = b"\x01\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { value: u64, in_ext: bool },
    Data(u64),
    DataEnd,
    Trailer { line_len: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    Chunked(Chunk),
    /// Pass everything through unexamined.
    Off,
    /// A smuggling shape was seen; nothing more is read from the client.
    Refused,
}

/// The framing follower, independent of I/O so it can be tested on byte strings.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    head: BytesMut,
    first: bool,
    max_head: usize,
}

/// How a complete head is to be handled.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Next(State),
    Refuse,
}

impl Scanner {
    /// A scanner that judges heads up to `max_head` bytes (capped at [`MAX_HEAD`]); past that it
    /// stops following the connection, since hyper answers 431 for heads over its own limit.
    pub fn new(max_head: usize) -> Self {
        Self { state: State::Head, head: BytesMut::new(), first: true, max_head: max_head.min(MAX_HEAD) }
    }

    /// Follows `data`, the next client bytes. Returns `None` when all of it may go to hyper
    /// unchanged, or `Some(i)` when the head ending at `data[i]` is refused: hyper must get
    /// `data[..i]` and then [`POISON`], and nothing more from this connection.
    pub fn feed(&mut self, data: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < data.len() {
            match self.state {
                State::Off => return None,
                State::Refused => return Some(at),
                State::Fixed(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(data.len() - at);
                    at += take;
                    let left = n - take as u64;
                    self.state = if left == 0 { State::Head } else { State::Fixed(left) };
                }
                State::Chunked(Chunk::Data(n)) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(data.len() - at);
                    at += take;
                    let left = n - take as u64;
                    self.state = State::Chunked(if left == 0 { Chunk::DataEnd } else { Chunk::Data(left) });
                }
                State::Chunked(chunk) => {
                    self.state = step_chunk(chunk, data[at]);
                    at += 1;
                }
                State::Head => {
                    if self.head.is_empty() {
                        // Blank lines before a request line are tolerated by hyper.
                        while at < data.len() && (data[at] == b'\r' || data[at] == b'\n') {
                            at += 1;
                        }
                        if at == data.len() {
                            break;
                        }
                    }
                    // Take one line (or the rest of the data) at a time.
                    let rest = &data[at..];
                    let line_end = rest.iter().position(|b| *b == b'\n');
                    let take = line_end.map_or(rest.len(), |p| p + 1);
                    self.head.extend_from_slice(&rest[..take]);
                    at += take;
                    if line_end.is_some() && (self.head.ends_with(b"\n\r\n") || self.head.ends_with(b"\n\n"))
                    {
                        if !self.finish_head() {
                            return Some(at - 1);
                        }
                    } else if self.head.len() > self.max_head
                        || (self.first && self.head.starts_with(b"PRI "))
                    {
                        self.head.clear();
                        self.state = State::Off;
                    }
                }
            }
        }
        None
    }

    /// Judges the complete head; `false` when it is refused.
    fn finish_head(&mut self) -> bool {
        self.first = false;
        let verdict = judge(&self.head);
        self.head.clear();
        match verdict {
            Verdict::Next(next) => {
                self.state = next;
                true
            }
            Verdict::Refuse => {
                self.state = State::Refused;
                false
            }
        }
    }
}

fn step_chunk(chunk: Chunk, byte: u8) -> State {
    let next = match chunk {
        Chunk::Size { value, in_ext } => match byte {
            b'\n' if value == 0 => Chunk::Trailer { line_len: 0 },
            b'\n' => Chunk::Data(value),
            b'\r' => chunk,
            _ if in_ext => chunk,
            b';' | b' ' | b'\t' => Chunk::Size { value, in_ext: true },
            _ => match (byte as char).to_digit(16) {
                Some(d) => match value.checked_mul(16).and_then(|v| v.checked_add(u64::from(d))) {
                    Some(value) => Chunk::Size { value, in_ext },
                    None => return State::Off,
                },
                // hyper rejects this body; nothing more to follow.
                None => return State::Off,
            },
        },
        Chunk::Data(_) => chunk,
        Chunk::DataEnd => match byte {
            b'\n' => Chunk::Size { value: 0, in_ext: false },
            _ => chunk,
        },
        Chunk::Trailer { line_len } => match byte {
            b'\n' if line_len == 0 => return State::Head,
            b'\n' => Chunk::Trailer { line_len: 0 },
            b'\r' => chunk,
            _ => Chunk::Trailer { line_len: line_len + 1 },
        },
    };
    State::Chunked(next)
}

fn judge(head: &[u8]) -> Verdict {
    let mut lines = head.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    if request_line.ends_with(b"HTTP/2.0") {
        return Verdict::Next(State::Off);
    }
    let (mut te_last_chunked, mut has_te, mut lengths, mut upgrade, mut conn_upgrade) =
        (false, false, Vec::new(), false, false);
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let name = line[..colon].trim_ascii();
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            has_te = true;
            let last = value.rsplit(|b| *b == b',').next().unwrap_or_default().trim_ascii();
            te_last_chunked = last.eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case(b"content-length") {
            lengths.extend(value.split(|b| *b == b',').map(|v| v.trim_ascii().to_vec()));
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            conn_upgrade |=
                value.split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
        }
    }
    if has_te && !lengths.is_empty() {
        return Verdict::Refuse;
    }
    if upgrade && conn_upgrade {
        return Verdict::Next(State::Off);
    }
    if has_te {
        return Verdict::Next(if te_last_chunked {
            State::Chunked(Chunk::Size { value: 0, in_ext: false })
        } else {
            State::Off
        });
    }
    let Some(first) = lengths.first() else { return Verdict::Next(State::Head) };
    if lengths.iter().any(|l| l != first) {
        return Verdict::Next(State::Off);
    }
    let parsed = std::str::from_utf8(first)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok());
    match parsed {
        Some(0) => Verdict::Next(State::Head),
        Some(n) => Verdict::Next(State::Fixed(n)),
        None => Verdict::Next(State::Off),
    }
}

/// An I/O object whose reads go through a [`Scanner`]; writes pass straight through.
#[derive(Debug)]
pub struct GuardedIo<I> {
    inner: I,
    scanner: Scanner,
    /// The part of [`POISON`] not yet handed to hyper.
    poison: &'static [u8],
}

impl<I> GuardedIo<I> {
    /// Guards `inner`, judging request heads of up to `max_head` bytes.
    pub fn new(inner: I, max_head: usize) -> Self {
        Self { inner, scanner: Scanner::new(max_head), poison: &[] }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for GuardedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.poison.is_empty() {
            let n = this.poison.len().min(buf.remaining());
            buf.put_slice(&this.poison[..n]);
            this.poison = &this.poison[n..];
            return Poll::Ready(Ok(()));
        }
        if this.scanner.state == State::Refused {
            return Poll::Ready(Ok(()));
        }
        // Read straight into hyper's buffer; bytes are only examined, never copied.
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        if let Some(i) = this.scanner.feed(&buf.filled()[before..]) {
            buf.set_filled(before + i);
            let n = POISON.len().min(buf.remaining());
            buf.put_slice(&POISON[..n]);
            this.poison = &POISON[n..];
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for GuardedIo<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
