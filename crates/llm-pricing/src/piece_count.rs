//! Exact tiktoken counts, faster: ASCII text is split into tiktoken's pieces by hand and each
//! piece's count is remembered, so only pieces never seen before reach tiktoken.
//!
//! tiktoken counts a text as the sum of the byte-pair encodings of the pieces its
//! pre-tokenising regex splits the text into. Its regex engine is most of the cost. This
//! module reproduces that split for ASCII text, without a regex engine:
//!
//! 1. **Segments.** The text is cut after every `\n` that is followed by a printable ASCII
//!    character other than `/`. No alternative of either encoding's regex can match a `\n`
//!    and then such a character: letters may follow only an optional character that is not
//!    `\r`/`\n`, digits and punctuation runs do not start with `\n`, a punctuation run ends
//!    with `[\r\n]*` (`[\r\n/]*` for `o200k_base`, hence the exception), and the whitespace
//!    alternatives match whitespace only. So a piece
//!    always ends there; the piece before it (whitespace ending in `\n`, or punctuation
//!    ending in newlines) is the same whether the text goes on or ends there, and the next
//!    piece does not look behind. Counting the segments apart therefore sums the same pieces.
//! 2. **ASCII segments** are split by [`o200k_piece_end`] / [`cl100k_piece_end`], each a
//!    transcription of the encoding's regex alternatives, in order, for ASCII characters.
//!    Other segments are counted by tiktoken whole.
//! 3. **Pieces** are counted by tiktoken once and then remembered per thread (short pieces
//!    only; the memory is bounded). A piece is a single match of the regex on its own, so
//!    tiktoken's count of it is its byte-pair encoding.
//!
//! The tests compare every count with tiktoken's count of the whole text, on random and real
//! text of every kind, for both encodings.

use std::cell::RefCell;
use std::collections::HashMap;

/// Pieces longer than this are not remembered (long runs of punctuation or spaces are rare
/// and rarely repeat).
const MAX_REMEMBERED_PIECE: usize = 32;
/// After this many new pieces in one text, a text in which more than a quarter of the pieces
/// were new is counted by tiktoken from there on.
const MOSTLY_NEW_AFTER: usize = 256;
/// The most pieces a thread remembers per encoding before starting over (about 2 MiB).
const MAX_REMEMBERED_PIECES: usize = 32_768;

/// The two encodings this module splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    O200k,
    Cl100k,
}

thread_local! {
    static PIECES: RefCell<[HashMap<Box<[u8]>, u32>; 2]> = RefCell::new(Default::default());
}

impl Encoding {
    fn tiktoken_count(self, text: &str) -> usize {
        match self {
            Encoding::O200k => tiktoken_rs::o200k_base_singleton().count_ordinary(text),
            Encoding::Cl100k => tiktoken_rs::cl100k_base_singleton().count_ordinary(text),
        }
    }

    fn piece_end(self, text: &[u8], start: usize) -> usize {
        match self {
            Encoding::O200k => o200k_piece_end(text, start),
            Encoding::Cl100k => cl100k_piece_end(text, start),
        }
    }

    /// Tokens in `text`: exactly tiktoken's `count_ordinary`.
    pub(crate) fn count(self, text: &str) -> u64 {
        let mut novelty = Novelty::default();
        let (mut tokens, mut offset) = (0u64, 0usize);
        for segment in segments(text) {
            if !segment.is_ascii() {
                tokens += self.tiktoken_count(segment) as u64;
            } else {
                match self.count_ascii(segment, &mut novelty) {
                    Ok(counted) => tokens += counted,
                    // Mostly new pieces (random data): one tiktoken call for the rest is
                    // cheaper than one per piece. The rest starts where a piece does, where
                    // tiktoken's own scan would be, so counting it apart is exact.
                    Err((counted, rest)) => {
                        return tokens
                            + counted
                            + self.tiktoken_count(&text[offset + rest..]) as u64;
                    }
                }
            }
            offset += segment.len();
        }
        tokens
    }

    /// The tokens of an ASCII segment, or `Err((tokens so far, where the rest starts))` once
    /// `novelty` says the text is mostly new pieces.
    fn count_ascii(self, text: &str, novelty: &mut Novelty) -> Result<u64, (u64, usize)> {
        let bytes = text.as_bytes();
        PIECES.with(|pieces| {
            let mut pieces = pieces.borrow_mut();
            let remembered = &mut pieces[self as usize];
            let (mut tokens, mut start) = (0u64, 0);
            while start < bytes.len() {
                if novelty.is_mostly_new() {
                    return Err((tokens, start));
                }
                let end = self.piece_end(bytes, start);
                let piece = &text[start..end];
                novelty.seen += 1;
                tokens += if piece.len() > MAX_REMEMBERED_PIECE {
                    self.tiktoken_count(piece) as u64
                } else if let Some(&count) = remembered.get(piece.as_bytes()) {
                    u64::from(count)
                } else {
                    novelty.new += 1;
                    let count = self.tiktoken_count(piece);
                    if remembered.len() >= MAX_REMEMBERED_PIECES {
                        remembered.clear();
                    }
                    remembered.insert(piece.as_bytes().into(), count as u32);
                    count as u64
                };
                start = end;
            }
            Ok(tokens)
        })
    }
}

/// How many of a text's pieces were looked up, and how many of them were new.
#[derive(Default)]
struct Novelty {
    seen: usize,
    new: usize,
}

impl Novelty {
    fn is_mostly_new(&self) -> bool {
        self.new > MOSTLY_NEW_AFTER && self.new * 4 > self.seen
    }
}

/// `text` cut after every `\n` followed by a printable ASCII character other than `/` (see the
/// module docs).
fn segments(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let from = start;
        let cut = bytes[from..]
            .windows(2)
            .position(|pair| pair[0] == b'\n' && pair[1].is_ascii_graphic() && pair[1] != b'/')
            .map_or(bytes.len(), |at| from + at + 1);
        start = cut;
        // Cuts fall after an ASCII `\n`, so on character boundaries.
        Some(&text[from..cut])
    })
}

/// Unicode `White_Space` among ASCII characters: what `\s` matches.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// `[^\r\n\p{L}\p{N}]`: the optional character before a word.
fn is_word_prefix(b: u8) -> bool {
    !is_newline(b) && !b.is_ascii_alphanumeric()
}

/// `[^\s\p{L}\p{N}]`: punctuation and symbols.
fn is_punctuation(b: u8) -> bool {
    !is_space(b) && !b.is_ascii_alphanumeric()
}

fn run_end(text: &[u8], start: usize, class: impl Fn(u8) -> bool) -> usize {
    text[start..]
        .iter()
        .position(|&b| !class(b))
        .map_or(text.len(), |at| start + at)
}

/// The end of `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `at`, if it matches there.
fn contraction_end(text: &[u8], at: usize) -> Option<usize> {
    if text.get(at) != Some(&b'\'') {
        return None;
    }
    let lower = |i: usize| text.get(i).map(u8::to_ascii_lowercase);
    match (lower(at + 1), lower(at + 2)) {
        (Some(b's' | b't' | b'm' | b'd'), _) => Some(at + 2),
        (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => Some(at + 3),
        _ => None,
    }
}

/// A run of whitespace starting at `start`: with `o200k_base`'s order (`to_end_first` false)
/// `\s*[\r\n]+` (to the last newline of the run), then `\s+(?!\S)` (the whole run at the end
/// of the text, else all but its last character), then `\s+` (one character before a
/// non-space); `cl100k_base` (`to_end_first`) first takes a run reaching the end of the text
/// whole (`\s++$`).
fn whitespace_piece_end(text: &[u8], start: usize, to_end_first: bool) -> usize {
    let run = run_end(text, start, is_space);
    if to_end_first && run == text.len() {
        return run;
    }
    if let Some(last_newline) = text[start..run].iter().rposition(|&b| is_newline(b)) {
        start + last_newline + 1
    } else if run == text.len() || run - start == 1 {
        run
    } else {
        run - 1
    }
}

/// ` ?[^\s\p{L}\p{N}]+` then a `tail` run (`[\r\n]*`, or `[\r\n/]*` for `o200k_base`): the
/// end of a punctuation piece at `start`, if one starts there.
fn punctuation_piece_end(text: &[u8], start: usize, tail: impl Fn(u8) -> bool) -> Option<usize> {
    let first = if text[start] == b' ' {
        start + 1
    } else {
        start
    };
    let run = run_end(text, first, is_punctuation);
    (run > first).then(|| run_end(text, run, tail))
}

/// The end of the `o200k_base` piece starting at `start` in ASCII `text`.
///
/// The regex, in order: a word (`[^\r\n\p{L}\p{N}]?` + `[\p{Lu}…]*[\p{Ll}…]+` or
/// `[\p{Lu}…]+[\p{Ll}…]*`, then a contraction), `\p{N}{1,3}`,
/// ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
fn o200k_piece_end(text: &[u8], start: usize) -> usize {
    let word = if is_word_prefix(text[start]) {
        start + 1
    } else {
        start
    };
    let upper = run_end(text, word, |b| b.is_ascii_uppercase());
    let lower = run_end(text, upper, |b| b.is_ascii_lowercase());
    // `[A-Z]*[a-z]+` when lowercase letters follow, else `[A-Z]+` (then `[a-z]*` is empty).
    if lower > word {
        return contraction_end(text, lower).unwrap_or(lower);
    }
    let first = text[start];
    if first.is_ascii_digit() {
        return run_end(text, start, |b| b.is_ascii_digit()).min(start + 3);
    }
    if let Some(end) = punctuation_piece_end(text, start, |b| is_newline(b) || b == b'/') {
        return end;
    }
    whitespace_piece_end(text, start, false)
}

/// The end of the `cl100k_base` piece starting at `start` in ASCII `text`.
///
/// The regex, in order: `'(?i:[sdmt]|ll|ve|re)`, `[^\r\n\p{L}\p{N}]?+\p{L}++`,
/// `\p{N}{1,3}+`, ` ?[^\s\p{L}\p{N}]++[\r\n]*+`, `\s++$`, `\s*[\r\n]`, `\s+(?!\S)`, `\s`.
fn cl100k_piece_end(text: &[u8], start: usize) -> usize {
    if let Some(end) = contraction_end(text, start) {
        return end;
    }
    let word = if is_word_prefix(text[start]) {
        start + 1
    } else {
        start
    };
    let letters = run_end(text, word, |b| b.is_ascii_alphabetic());
    if letters > word {
        return letters;
    }
    let first = text[start];
    if first.is_ascii_digit() {
        return run_end(text, start, |b| b.is_ascii_digit()).min(start + 3);
    }
    if let Some(end) = punctuation_piece_end(text, start, is_newline) {
        return end;
    }
    whitespace_piece_end(text, start, true)
}
