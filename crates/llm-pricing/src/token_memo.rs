//! [`TokenMemo`]: the process-wide memo of token counts, so text already counted is not
//! counted again.
//!
//! A coding agent re-sends its whole conversation every turn; with the memo each turn pays
//! a hash of the old messages and a count of the new ones only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

use crate::TokenCounting;

/// How many texts the memo holds unless [`TokenMemo::set_capacity`] says otherwise: about
/// 4 MiB of memory.
pub const DEFAULT_TOKEN_MEMO_CAPACITY: usize = 65_536;

/// Texts shorter than this are counted every time: counting them costs about as much as
/// hashing them and looking them up.
pub const TOKEN_MEMO_MIN_BYTES: usize = 256;

/// The SHA-256 of an encoding's name and a text.
type Key = [u8; 32];

/// The process-wide memo of exact token counts, shared by every [`PriceTable`](crate::PriceTable)
/// and every client in the process.
///
/// [`TokenCounting::count`] (and so [`PriceTable::estimate`](crate::PriceTable::estimate))
/// looks a text up here before counting it with an exact encoding (`o200k_base`,
/// `cl100k_base`; the byte bound needs no memo), and stores what it counted. Each counted
/// string is its own entry — a message's content, a text part, the JSON text of a tool call —
/// so a request that repeats earlier messages and adds new ones pays only for the new ones.
/// Texts under [`TOKEN_MEMO_MIN_BYTES`] are not memoised.
///
/// **Keys** are the SHA-256 of the encoding's name and the text. A memo collision would hand
/// one text another text's count, possibly a smaller one, and so under-reserve; with SHA-256
/// no collision is known and finding one is beyond reach, so a count from the memo is the
/// exact count of that text. Hashing runs at about a gigabyte per second, many times the
/// speed of counting.
///
/// **Memory** is bounded by [`TokenMemo::capacity`] entries of about 64 bytes each (default
/// [`DEFAULT_TOKEN_MEMO_CAPACITY`], about 4 MiB). Entries live in two generations: when the
/// newer one holds half the capacity, the older one is dropped and the newer one becomes
/// the older; a text found in the older generation moves back to the newer. So recently used
/// counts stay, and the memo never holds more than its capacity.
///
/// ```
/// use llm_pricing::{TokenCounting, TokenMemo};
///
/// let text = "A long system prompt, re-sent with every call. ".repeat(20);
/// let first = TokenCounting::O200kBase.count(&text);
/// let before = TokenMemo::stats();
/// // The same text again: answered from the memo, not counted.
/// assert_eq!(TokenCounting::O200kBase.count(&text), first);
/// assert!(TokenMemo::stats().hits > before.hits);
/// ```
#[derive(Debug)]
pub struct TokenMemo {
    generations: Mutex<Generations>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What [`TokenMemo::stats`] reports: how often a text was found, and how full the memo is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenMemoStats {
    /// Texts answered from the memo since the process started.
    pub hits: u64,
    /// Texts counted (at least [`TOKEN_MEMO_MIN_BYTES`] long, so memoised) since the process
    /// started.
    pub misses: u64,
    /// Counts held now.
    pub entries: usize,
    /// The most counts the memo holds.
    pub capacity: usize,
}

#[derive(Debug)]
struct Generations {
    newer: HashMap<Key, u64>,
    older: HashMap<Key, u64>,
    capacity: usize,
}

static MEMO: LazyLock<TokenMemo> = LazyLock::new(|| TokenMemo {
    generations: Mutex::new(Generations {
        newer: HashMap::new(),
        older: HashMap::new(),
        capacity: DEFAULT_TOKEN_MEMO_CAPACITY,
    }),
    hits: AtomicU64::new(0),
    misses: AtomicU64::new(0),
});

impl TokenMemo {
    /// Sets how many counts the process keeps (0 turns the memo off), dropping what no longer
    /// fits. Applies to every table and client in the process.
    pub fn set_capacity(entries: usize) {
        let mut generations = MEMO.lock();
        generations.capacity = entries;
        if generations.newer.len() + generations.older.len() > entries {
            generations.older.clear();
            if generations.newer.len() > entries / 2 {
                generations.newer.clear();
            }
        }
    }

    /// The most counts the memo holds.
    pub fn capacity() -> usize {
        MEMO.lock().capacity
    }

    /// Hits, misses and size so far.
    pub fn stats() -> TokenMemoStats {
        let generations = MEMO.lock();
        TokenMemoStats {
            hits: MEMO.hits.load(Ordering::Relaxed),
            misses: MEMO.misses.load(Ordering::Relaxed),
            entries: generations.newer.len() + generations.older.len(),
            capacity: generations.capacity,
        }
    }

    /// The count of `text` under `counting`, from the memo or else from `count` (then
    /// remembered). Counting runs outside the lock, so threads count in parallel.
    pub(crate) fn count_with(
        counting: TokenCounting,
        text: &str,
        count: impl FnOnce(&str) -> u64,
    ) -> u64 {
        if text.len() < TOKEN_MEMO_MIN_BYTES {
            return count(text);
        }
        let key = key(counting, text);
        if let Some(tokens) = MEMO.lock().get(&key) {
            MEMO.hits.fetch_add(1, Ordering::Relaxed);
            return tokens;
        }
        MEMO.misses.fetch_add(1, Ordering::Relaxed);
        let tokens = count(text);
        MEMO.lock().insert(key, tokens);
        tokens
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        // The maps stay consistent even if a holder panicked: every update is one insert.
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn key(counting: TokenCounting, text: &str) -> Key {
    let encoding: &[u8] = match counting {
        TokenCounting::O200kBase => b"o200k_base\0",
        TokenCounting::Cl100kBase => b"cl100k_base\0",
        TokenCounting::Utf8Bytes => b"utf8_bytes\0",
    };
    Sha256::new()
        .chain_update(encoding)
        .chain_update(text.as_bytes())
        .finalize()
        .into()
}

impl Generations {
    fn get(&mut self, key: &Key) -> Option<u64> {
        if let Some(&tokens) = self.newer.get(key) {
            return Some(tokens);
        }
        let tokens = self.older.remove(key)?;
        self.insert(*key, tokens);
        Some(tokens)
    }

    fn insert(&mut self, key: Key, tokens: u64) {
        let half = self.capacity / 2;
        if half == 0 {
            return;
        }
        if self.newer.len() >= half {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, tokens);
    }
}
