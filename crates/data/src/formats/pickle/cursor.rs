//! Bounds-checked reading of opcode arguments from the pickle byte stream.
//!
//! Every read checks the remaining input first, so a truncated file or an absurd length prefix
//! becomes a [`PickleError`] before anything is allocated (the guard against allocation bombs).

use super::error::PickleError;

/// A position in the input; `op_offset` is the start of the opcode being decoded, used in errors.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    pub(crate) op_offset: u64,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            op_offset: 0,
        }
    }

    /// Current position (start of the next unread byte).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }

    /// Fixed-size read of `n` bytes (an opcode's own argument).
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PickleError> {
        if self.data.len() - self.pos < n {
            return Err(PickleError::Truncated {
                offset: self.op_offset,
                what,
                needed: n as u64,
                available: self.remaining(),
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Variable-size read whose length came from the input: refuses lengths beyond the input.
    /// Returns the byte range of the payload inside the input.
    pub(crate) fn take_len(
        &mut self,
        len: u64,
        what: &'static str,
    ) -> Result<std::ops::Range<usize>, PickleError> {
        if len > self.remaining() {
            return Err(PickleError::LengthTooLarge {
                offset: self.op_offset,
                what,
                length: len,
                remaining: self.remaining(),
            });
        }
        // `len <= remaining <= usize::MAX`, so the cast is exact.
        let start = self.pos;
        self.pos += len as usize;
        Ok(start..self.pos)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, PickleError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], PickleError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u16_le(&mut self, what: &'static str) -> Result<u16, PickleError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32_le(&mut self, what: &'static str) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32_le(&mut self, what: &'static str) -> Result<i32, PickleError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64_be(&mut self, what: &'static str) -> Result<f64, PickleError> {
        Ok(f64::from_be_bytes(self.array(what)?))
    }

    /// A newline-terminated line (GLOBAL, PERSID); the newline is consumed, not returned.
    pub(crate) fn line(&mut self, what: &'static str) -> Result<&'a [u8], PickleError> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => Err(PickleError::Truncated {
                offset: self.op_offset,
                what,
                needed: rest.len() as u64 + 1,
                available: rest.len() as u64,
            }),
        }
    }

    /// The input slice for a range returned by [`Cursor::take_len`].
    pub(crate) fn slice(&self, r: std::ops::Range<usize>) -> &'a [u8] {
        &self.data[r]
    }
}
