//! Exact tiktoken counts, faster: text is cut where every piece of tiktoken's split must end,
//! ASCII stretches are split into tiktoken's pieces by hand, and each piece's count is
//! remembered, so only pieces never seen before reach tiktoken.
//!
//! tiktoken counts a text as the sum of the byte-pair encodings of the pieces its
//! pre-tokenising regex splits the text into. Its regex engine is most of the cost. This
//! module reproduces that split without a regex engine where the text is ASCII, and hands
//! tiktoken only short stretches around other characters:
//!
//! 1. **Cuts.** The text is cut at a position `q` (between bytes `q - 1` and `q`) when a
//!    piece must end there, by [`is_cut`]:
//!    - (a) `\n`, then a printable ASCII character other than `/`;
//!    - (b) an ASCII letter, then an ASCII character that is neither a letter nor `'`;
//!    - (c) an ASCII digit, then an ASCII character that is not a digit;
//!    - (d) a character that is not whitespace (`\s`, Unicode `White_Space`, which is what
//!      [`char::is_whitespace`] tests), then an ASCII space;
//!    - (e) an ASCII punctuation or control character (not whitespace), then an ASCII digit.
//!
//!    *A piece ends at `q`*: each rule names every regex element (of either encoding) that
//!    could match the character at `q` right after one that matched the character before.
//!    (a): letters follow only an optional character that is not `\r`/`\n`, digits and
//!    punctuation runs do not start with `\n`, a punctuation run ends with `[\r\n]*`
//!    (`[\r\n/]*` for `o200k_base`, hence the exception), and the whitespace alternatives
//!    match whitespace only. (b): after a letter a piece goes on only with letters, marks
//!    (`o200k_base`) or a contraction, which starts with `'` — and ASCII has no marks.
//!    (c): after a digit only `\p{N}` goes on. (d): a space can be matched by the optional
//!    first character of a word or punctuation piece (so nothing comes before it in that
//!    piece), or by the whitespace alternatives, whose every character is whitespace.
//!    (e): after punctuation a piece goes on with punctuation, `[\r\n/]*`, letters or marks
//!    (after a word's first character) or a contraction's letters; a digit is none of them.
//!
//!    *The pieces before `q` are the same whether the text goes on or ends there*: in every
//!    rule, whatever the regex can try at `q` after matching the character before fails both
//!    on the character at `q` and at the end of the text — it is a character class without
//!    that character, and never `$` or `(?!\S)`, which follow whitespace only (for (a), the
//!    whitespace piece ending in `\n` is `\s*[\r\n]+` either way, or the same run as `\s++$`
//!    for `cl100k_base`). *The pieces after `q` are the same as in the text from `q` on*: no
//!    alternative looks behind. So counting the stretches between cuts apart sums the same
//!    pieces.
//! 2. **ASCII stretches** are split by [`o200k_piece_end`] / [`cl100k_piece_end`], each a
//!    transcription of the encoding's regex alternatives, in order, for ASCII characters.
//! 3. **Other stretches** run from the last cut before a non-ASCII character to the first cut
//!    after it (usually a word or a symbol with its neighbours, like ` →` or ` café`) and are
//!    counted by tiktoken whole.
//! 4. **Pieces and short stretches** are counted by tiktoken once and then remembered per
//!    thread (the memory is bounded). A piece is a single match of the regex on its own, and
//!    a stretch is cut on both sides, so tiktoken's count of either on its own is what it
//!    adds to the count of the whole text.
//!
//! The tests compare every count with tiktoken's count of the whole text, on random and real
//! text of every kind, for both encodings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

/// Pieces and stretches longer than this are not remembered (long runs of punctuation or
/// spaces are rare and rarely repeat).
const MAX_REMEMBERED_PIECE: usize = 32;
/// After this many new pieces in one text, a text in which more than a quarter of the pieces
/// were new is counted by tiktoken from there on.
const MOSTLY_NEW_AFTER: usize = 256;
/// The most pieces a thread remembers per encoding before starting over (about 2 MiB).
const MAX_REMEMBERED_PIECES: usize = 32_768;
/// Pieces up to this long are remembered packed into one number with their length.
const MAX_PACKED_PIECE: usize = 15;

/// The two encodings this module splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    O200k,
    Cl100k,
}

/// Remembered counts, by piece (or stretch) text. Most pieces are short: packed into a number
/// they are found with one comparison and stored without an allocation.
#[derive(Default)]
struct Remembered {
    packed: HashMap<u128, u32, PieceHashing>,
    longer: HashMap<Box<[u8]>, u32, PieceHashing>,
}

impl Remembered {
    /// The count remembered for `text[start..end]`.
    fn get(&self, text: &[u8], start: usize, end: usize) -> Option<u32> {
        if end - start <= MAX_PACKED_PIECE {
            self.packed.get(&packed(text, start, end)).copied()
        } else {
            self.longer.get(&text[start..end]).copied()
        }
    }

    /// Remembers `count` for `text[start..end]`, forgetting everything first when full.
    fn insert(&mut self, text: &[u8], start: usize, end: usize, count: u32) {
        if self.packed.len() + self.longer.len() >= MAX_REMEMBERED_PIECES {
            self.packed.clear();
            self.longer.clear();
        }
        if end - start <= MAX_PACKED_PIECE {
            self.packed.insert(packed(text, start, end), count);
        } else {
            self.longer.insert(text[start..end].into(), count);
        }
    }
}

/// The piece `text[start..end]` (at most [`MAX_PACKED_PIECE`] bytes) and its length as one
/// number (the length tells pieces that differ only by trailing zero bytes apart).
fn packed(text: &[u8], start: usize, end: usize) -> u128 {
    let length = end - start;
    let mut bytes = [0u8; 16];
    let piece = match text.get(start..start + 16) {
        // Where the text goes on far enough, one load and a mask: copying a piece of any
        // length into a buffer and loading it back costs several times that.
        Some(window) => {
            bytes.copy_from_slice(window);
            u128::from_le_bytes(bytes) & ((1 << (8 * length)) - 1)
        }
        None => {
            bytes[..length].copy_from_slice(&text[start..end]);
            u128::from_le_bytes(bytes)
        }
    };
    piece | (length as u128) << 120
}

thread_local! {
    static PIECES: RefCell<[Remembered; 2]> = RefCell::new(Default::default());
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
        PIECES.with(|pieces| {
            let mut pieces = pieces.borrow_mut();
            let mut counter = Counter {
                encoding: self,
                remembered: &mut pieces[self as usize],
                seen: 0,
                new: 0,
            };
            match counter.count(text) {
                Ok(tokens) => tokens,
                // Mostly new pieces (random data): one tiktoken call for the rest is cheaper
                // than one per piece. The rest starts where a piece does, where tiktoken's
                // own scan would be, so counting it apart is exact.
                Err((tokens, rest)) => tokens + self.tiktoken_count(&text[rest..]) as u64,
            }
        })
    }
}

/// Counts one text with a thread's remembered counts, keeping track of how many pieces were
/// looked up and how many of them were new.
struct Counter<'a> {
    encoding: Encoding,
    remembered: &'a mut Remembered,
    seen: usize,
    new: usize,
}

/// A count, or `Err((tokens so far, where the rest starts))` once the text is mostly new
/// pieces.
type Counted = Result<u64, (u64, usize)>;

impl Counter<'_> {
    fn is_mostly_new(&self) -> bool {
        self.new > MOSTLY_NEW_AFTER && self.new * 4 > self.seen
    }

    /// The tokens of `text`: ASCII stretches piece by piece, each non-ASCII character with
    /// the text around it up to the nearest cuts as one stretch.
    fn count(&mut self, text: &str) -> Counted {
        let bytes = text.as_bytes();
        let (mut tokens, mut start) = (0u64, 0usize);
        while start < bytes.len() {
            let Some(non_ascii) = bytes[start..].iter().position(|b| !b.is_ascii()) else {
                return self.count_ascii(text, start, bytes.len(), tokens);
            };
            let non_ascii = start + non_ascii;
            // The bytes before `non_ascii` are ASCII, so every position there is a character
            // boundary; cuts are before an ASCII byte, so on one too.
            let cut = (start + 1..non_ascii)
                .rev()
                .find(|&at| is_cut(text, at))
                .unwrap_or(start);
            tokens = self.count_ascii(text, start, cut, tokens)?;
            if self.is_mostly_new() {
                return Err((tokens, cut));
            }
            let end = (non_ascii + 1..bytes.len())
                .find(|&at| is_cut(text, at))
                .unwrap_or(bytes.len());
            tokens += self.piece(text, cut, end);
            start = end;
        }
        Ok(tokens)
    }

    /// `tokens` plus the tokens of the ASCII stretch `text[start..end]`, which starts and ends
    /// at cuts.
    fn count_ascii(&mut self, text: &str, start: usize, end: usize, tokens: u64) -> Counted {
        let stretch = &text.as_bytes()[..end];
        let (mut tokens, mut at) = (tokens, start);
        while at < end {
            if self.is_mostly_new() {
                return Err((tokens, at));
            }
            let piece_end = self.encoding.piece_end(stretch, at);
            tokens += self.piece(text, at, piece_end);
            at = piece_end;
        }
        Ok(tokens)
    }

    /// tiktoken's count of the piece (or stretch) `text[start..end]` on its own, remembered if
    /// it is short.
    fn piece(&mut self, text: &str, start: usize, end: usize) -> u64 {
        self.seen += 1;
        let piece = &text[start..end];
        if piece.len() > MAX_REMEMBERED_PIECE {
            return self.encoding.tiktoken_count(piece) as u64;
        }
        if let Some(count) = self.remembered.get(text.as_bytes(), start, end) {
            return u64::from(count);
        }
        self.new += 1;
        let count = self.encoding.tiktoken_count(piece);
        self.remembered
            .insert(text.as_bytes(), start, end, count as u32);
        count as u64
    }
}

/// Builds [`PieceHasher`]s with a random seed per thread, as the standard library seeds its
/// maps, so which pieces share a bucket is not fixed in advance.
#[derive(Clone, Copy)]
struct PieceHashing {
    seed: u64,
}

impl Default for PieceHashing {
    fn default() -> Self {
        PieceHashing {
            seed: RandomState::new().hash_one(0u64),
        }
    }
}

impl BuildHasher for PieceHashing {
    type Hasher = PieceHasher;

    fn build_hasher(&self) -> PieceHasher {
        PieceHasher(self.seed)
    }
}

/// A hasher for short pieces, eight bytes at a time: a multiplication per eight bytes, where
/// the standard hasher (SipHash) costs several times as much on a piece of a few bytes.
struct PieceHasher(u64);

impl PieceHasher {
    fn add(&mut self, word: u64) {
        // A folded multiply: every bit of the state and the word moves every bit of the
        // result, low bits included (the map picks buckets by the low bits).
        let product = u128::from(self.0 ^ word) * 0x9e37_79b9_7f4a_7c15_u128;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for PieceHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(word);
            self.add(u64::from_le_bytes(buffer));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buffer = [0u8; 8];
            buffer[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buffer));
        }
    }

    fn write_u128(&mut self, packed: u128) {
        self.add(packed as u64);
        self.add((packed >> 64) as u64);
    }

    fn write_usize(&mut self, length: usize) {
        // Slices hash their length first, so pieces that differ only by trailing zero bytes
        // differ here.
        self.add(length as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Whether a piece of tiktoken's split of `text` must end at `at` (0 < `at` < the length),
/// by the rules (a) to (e) of the module docs. Only ever true before an ASCII byte, so on a
/// character boundary.
fn is_cut(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    let (before, next) = (bytes[at - 1], bytes[at]);
    if !next.is_ascii() {
        return false;
    }
    match before {
        b'\n' => next.is_ascii_graphic() && next != b'/',
        b if b.is_ascii_alphabetic() => !next.is_ascii_alphabetic() && next != b'\'',
        b if b.is_ascii_digit() => !next.is_ascii_digit(),
        b if is_space(b) => false,
        b if b.is_ascii() => next == b' ' || next.is_ascii_digit(),
        _ => {
            next == b' '
                && !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_whitespace)
        }
    }
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
