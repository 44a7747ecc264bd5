//! Literal opcodes of the VM: constants, numbers, text and byte strings.
//!
//! Reference behaviour: CPython `pickle._Unpickler` `load_*` for NONE, NEWTRUE/NEWFALSE,
//! BININT/BININT1/BININT2, LONG1/LONG4 (little-endian two's complement, here limited to 64
//! bits), BINFLOAT (big-endian double), SHORT_BINUNICODE/BINUNICODE/BINUNICODE8 (UTF-8),
//! SHORT_BINBYTES/BINBYTES/BINBYTES8, BYTEARRAY8 (read as bytes) and SHORT_BINSTRING/BINSTRING
//! (Python 2 `str`, kept as bytes and read as latin-1). Any other byte is an unsupported or
//! unknown opcode.

use super::super::arena::{Blob, Obj};
use super::super::error::PickleError;
use super::super::opcode::{self as op};
use super::Vm;

impl Vm<'_> {
    /// Executes one literal opcode, or reports the byte as unsupported/unknown.
    pub(super) fn literal(&mut self, code: u8) -> Result<(), PickleError> {
        match code {
            op::NONE => self.push(Obj::None),
            op::NEWTRUE => self.push(Obj::Bool(true)),
            op::NEWFALSE => self.push(Obj::Bool(false)),
            op::BININT => {
                let v = self.cur.i32_le("BININT")?;
                self.push(Obj::Int(v.into()));
            }
            op::BININT1 => {
                let v = self.cur.u8("BININT1")?;
                self.push(Obj::Int(v.into()));
            }
            op::BININT2 => {
                let v = self.cur.u16_le("BININT2")?;
                self.push(Obj::Int(v.into()));
            }
            op::LONG1 => {
                let n = self.cur.u8("LONG1")?;
                self.long(n.into(), "LONG1")?;
            }
            op::LONG4 => {
                let n = self.cur.i32_le("LONG4")?;
                let n = u64::try_from(n).map_err(|_| self.invalid("LONG4", "negative length"))?;
                self.long(n, "LONG4")?;
            }
            op::BINFLOAT => {
                let v = self.cur.f64_be("BINFLOAT")?;
                self.push(Obj::Float(v));
            }
            op::SHORT_BINUNICODE => {
                let n = self.cur.u8("SHORT_BINUNICODE")?;
                self.unicode(n.into(), "SHORT_BINUNICODE")?;
            }
            op::BINUNICODE => {
                let n = self.cur.u32_le("BINUNICODE")?;
                self.unicode(n.into(), "BINUNICODE")?;
            }
            op::BINUNICODE8 => {
                let n = self.cur.u64_le("BINUNICODE8")?;
                self.unicode(n, "BINUNICODE8")?;
            }
            op::SHORT_BINBYTES => {
                let n = self.cur.u8("SHORT_BINBYTES")?;
                let b = self.blob(n.into(), "SHORT_BINBYTES")?;
                self.push(Obj::Bytes(b));
            }
            op::BINBYTES => {
                let n = self.cur.u32_le("BINBYTES")?;
                let b = self.blob(n.into(), "BINBYTES")?;
                self.push(Obj::Bytes(b));
            }
            op::BINBYTES8 | op::BYTEARRAY8 => {
                let what = if code == op::BINBYTES8 {
                    "BINBYTES8"
                } else {
                    "BYTEARRAY8"
                };
                let n = self.cur.u64_le(what)?;
                let b = self.blob(n, what)?;
                self.push(Obj::Bytes(b));
            }
            op::SHORT_BINSTRING => {
                let n = self.cur.u8("SHORT_BINSTRING")?;
                let b = self.blob(n.into(), "SHORT_BINSTRING")?;
                self.push(Obj::Str8(b));
            }
            op::BINSTRING => {
                let n = self.cur.i32_le("BINSTRING")?;
                let n =
                    u64::try_from(n).map_err(|_| self.invalid("BINSTRING", "negative length"))?;
                let b = self.blob(n, "BINSTRING")?;
                self.push(Obj::Str8(b));
            }
            other => {
                let offset = self.off();
                return Err(match op::name(other) {
                    Some(name) => PickleError::UnsupportedOpcode { offset, name },
                    None => PickleError::UnknownOpcode {
                        offset,
                        opcode: other,
                    },
                });
            }
        }
        Ok(())
    }

    pub(super) fn text(&self, bytes: &[u8], what: &'static str) -> Result<String, PickleError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| PickleError::InvalidText {
            offset: self.off(),
            what,
        })
    }

    fn blob(&mut self, len: u64, what: &'static str) -> Result<Blob, PickleError> {
        Ok(Blob::Input(self.cur.take_len(len, what)?))
    }

    fn unicode(&mut self, len: u64, what: &'static str) -> Result<(), PickleError> {
        let r = self.cur.take_len(len, what)?;
        let s = self.text(self.cur.slice(r), what)?;
        self.push(Obj::Str(s));
        Ok(())
    }

    fn long(&mut self, n: u64, what: &'static str) -> Result<(), PickleError> {
        let r = self.cur.take_len(n, what)?;
        let b = self.cur.slice(r);
        let neg = b.last().is_some_and(|&x| x & 0x80 != 0);
        let (low, high) = b.split_at(b.len().min(8));
        let ext = if neg { 0xff } else { 0 };
        let fits =
            high.iter().all(|&x| x == ext) && (high.is_empty() || low[7] & 0x80 == ext & 0x80);
        if !fits {
            return Err(self.invalid(what, "integer does not fit in 64 bits"));
        }
        let mut buf = [ext; 8];
        buf[..low.len()].copy_from_slice(low);
        self.push(Obj::Int(i64::from_le_bytes(buf)));
        Ok(())
    }
}
