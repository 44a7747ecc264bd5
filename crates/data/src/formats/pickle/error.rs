//! Typed errors of the safe pickle reader.
//!
//! Every error that comes from a byte of the input carries the byte offset of the opcode
//! being executed (64-bit, so offsets past 4 GiB are reported exactly).

use thiserror::Error;

/// Why a pickle could not be read. Nothing in the input is ever executed, so every refusal
/// (forbidden global, bad argument, malformed stream) surfaces as one of these variants.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PickleError {
    /// The input ends before an opcode's fixed-size argument is complete (or before STOP).
    #[error(
        "byte {offset}: input ends while reading {what} ({needed} bytes needed, {available} left)"
    )]
    Truncated {
        /// Offset of the opcode being decoded.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes left in the input.
        available: u64,
    },
    /// A length prefix announces more bytes than the input still holds (guards allocations).
    #[error("byte {offset}: {what} declares {length} bytes but only {remaining} are left")]
    LengthTooLarge {
        /// Offset of the opcode.
        offset: u64,
        /// The opcode or field that carries the length.
        what: &'static str,
        /// The declared length.
        length: u64,
        /// Bytes left in the input after the length prefix.
        remaining: u64,
    },
    /// A byte that is no pickle opcode at all.
    #[error("byte {offset}: unknown opcode 0x{opcode:02x}")]
    UnknownOpcode {
        /// Offset of the opcode.
        offset: u64,
        /// The byte found.
        opcode: u8,
    },
    /// A real pickle opcode that this reader deliberately does not implement.
    #[error("byte {offset}: opcode {name} is not supported by this reader")]
    UnsupportedOpcode {
        /// Offset of the opcode.
        offset: u64,
        /// The opcode's name in CPython's `pickletools`.
        name: &'static str,
    },
    /// PROTO announces a protocol this reader does not know.
    #[error("byte {offset}: pickle protocol {protocol} is not supported (2..=5 are)")]
    UnsupportedProtocol {
        /// Offset of the PROTO opcode.
        offset: u64,
        /// The announced protocol.
        protocol: u8,
    },
    /// GLOBAL / STACK_GLOBAL names a callable or class outside the whitelist.
    #[error(
        "byte {offset}: global '{module}.{name}' is not allowed (refused, nothing was executed)"
    )]
    ForbiddenGlobal {
        /// Offset of the GLOBAL or STACK_GLOBAL opcode.
        offset: u64,
        /// Module part.
        module: String,
        /// Attribute part.
        name: String,
    },
    /// An opcode needs more stack items than there are above the current mark.
    #[error("byte {offset}: {opcode} pops from an empty stack")]
    StackUnderflow {
        /// Offset of the opcode.
        offset: u64,
        /// The opcode's name.
        opcode: &'static str,
    },
    /// A mark-consuming opcode found no MARK.
    #[error("byte {offset}: {opcode} finds no MARK")]
    MissingMark {
        /// Offset of the opcode.
        offset: u64,
        /// The opcode's name.
        opcode: &'static str,
    },
    /// BINGET / LONG_BINGET names a memo slot that was never filled.
    #[error("byte {offset}: memo slot {index} is empty")]
    MemoMiss {
        /// Offset of the opcode.
        offset: u64,
        /// The memo index.
        index: u64,
    },
    /// Text that should be UTF-8 (or ASCII for GLOBAL) is not.
    #[error("byte {offset}: {what} is not valid text")]
    InvalidText {
        /// Offset of the opcode.
        offset: u64,
        /// What was being decoded.
        what: &'static str,
    },
    /// Well-formed opcodes applied to values of the wrong kind (bad REDUCE arguments, BUILD on
    /// an object that takes no state, unhashable dict key, integer too large, ...).
    #[error("byte {offset}: {opcode}: {detail}")]
    Invalid {
        /// Offset of the opcode.
        offset: u64,
        /// The opcode's name.
        opcode: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A numpy array (or torch tensor) whose dtype, shape or data cannot be decoded.
    #[error("byte {offset}: array: {detail}")]
    BadArray {
        /// Offset of the opcode that builds the array.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The object graph nests deeper than the reader's limit.
    #[error("value nests deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The object graph refers back to itself (Python allows this; plain values cannot).
    #[error("value contains a reference cycle")]
    Cycle,
    /// The value tree would grow far beyond the input: memo references repeated inside lists
    /// (`[L] * 1000`, nested) are shared in the pickle but would be copied into the tree.
    #[error(
        "the value would take more than {limit} bytes decoded from a {input}-byte pickle \
         (memo references repeated inside lists or dicts)"
    )]
    TooLarge {
        /// The decoding budget in bytes.
        limit: u64,
        /// The pickle's length in bytes.
        input: u64,
    },
    /// An array reconstructor never received its BUILD state.
    #[error("an array was created but never given its data (missing BUILD)")]
    UnbuiltArray,
}

impl PickleError {
    /// The byte offset the error refers to, where there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Truncated { offset, .. }
            | Self::LengthTooLarge { offset, .. }
            | Self::UnknownOpcode { offset, .. }
            | Self::UnsupportedOpcode { offset, .. }
            | Self::UnsupportedProtocol { offset, .. }
            | Self::ForbiddenGlobal { offset, .. }
            | Self::StackUnderflow { offset, .. }
            | Self::MissingMark { offset, .. }
            | Self::MemoMiss { offset, .. }
            | Self::InvalidText { offset, .. }
            | Self::Invalid { offset, .. }
            | Self::BadArray { offset, .. } => Some(*offset),
            Self::TooDeep { .. } | Self::TooLarge { .. } | Self::Cycle | Self::UnbuiltArray => None,
        }
    }
}
