//! A minimal pickle *writer* for tests, emitting what CPython's pickler + numpy emit:
//! protocol 2 (`_codecs.encode` bytes, `bytes()` for empty), 3 (BINBYTES), 4 (FRAME,
//! STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE) and 5 (`_frombuffer` + BYTEARRAY8); dtype objects and
//! globals are memoised and re-used through BINGET like the real pickler does.

use std::collections::HashMap;

pub use super::arr::Arr;

/// Writer options.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Pickle protocol, 2..=5.
    pub protocol: u8,
    /// `numpy._core` (numpy 2) instead of `numpy.core` (numpy 1).
    pub np2: bool,
    /// dtype arguments as ints `('u1', 0, 1)` (old numpy) instead of bools.
    pub int_args: bool,
}

/// A value to pickle.
#[derive(Debug, Clone)]
pub enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Val>),
    Tuple(Vec<Val>),
    Dict(Vec<(Val, Val)>),
    Array(Arr),
}

/// Pickles `v`.
pub fn dumps(v: &Val, o: &Opts) -> Vec<u8> {
    let mut e = Enc {
        out: Vec::new(),
        o: *o,
        memo: 0,
        cache: HashMap::new(),
    };
    e.value(v);
    e.out.push(b'.');
    let mut res = vec![0x80, o.protocol];
    if o.protocol >= 4 {
        res.push(0x95);
        res.extend((e.out.len() as u64).to_le_bytes());
    }
    res.extend(e.out);
    res
}

struct Enc {
    out: Vec<u8>,
    o: Opts,
    memo: u32,
    cache: HashMap<String, u32>,
}

impl Enc {
    fn memoize(&mut self) -> u32 {
        let i = self.memo;
        if self.o.protocol >= 4 {
            self.out.push(0x94);
        } else if i < 256 {
            self.out.extend([b'q', i as u8]);
        } else {
            self.out.push(b'r');
            self.out.extend(i.to_le_bytes());
        }
        self.memo += 1;
        i
    }

    fn get(&mut self, i: u32) {
        if i < 256 {
            self.out.extend([b'h', i as u8]);
        } else {
            self.out.push(b'j');
            self.out.extend(i.to_le_bytes());
        }
    }

    fn str(&mut self, s: &str) {
        if self.o.protocol >= 4 && s.len() < 256 {
            self.out.extend([0x8c, s.len() as u8]);
        } else {
            self.out.push(b'X');
            self.out.extend((s.len() as u32).to_le_bytes());
        }
        self.out.extend(s.as_bytes());
        self.memoize();
    }

    fn int(&mut self, i: i64) {
        match i {
            0..=255 => self.out.extend([b'K', i as u8]),
            256..=65535 => {
                self.out.push(b'M');
                self.out.extend((i as u16).to_le_bytes());
            }
            _ if i32::try_from(i).is_ok() => {
                self.out.push(b'J');
                self.out.extend((i as i32).to_le_bytes());
            }
            _ => {
                self.out.extend([0x8a, 8]);
                self.out.extend(i.to_le_bytes());
            }
        }
    }

    fn global(&mut self, module: &str, name: &str) {
        let key = format!("global {module}.{name}");
        if let Some(&i) = self.cache.get(&key) {
            return self.get(i);
        }
        if self.o.protocol >= 4 {
            self.str(module);
            self.str(name);
            self.out.push(0x93);
        } else {
            self.out.push(b'c');
            self.out.extend(format!("{module}\n{name}\n").as_bytes());
        }
        let i = self.memoize();
        self.cache.insert(key, i);
    }

    fn bytes(&mut self, b: &[u8]) {
        if self.o.protocol >= 3 {
            if b.len() < 256 {
                self.out.extend([b'C', b.len() as u8]);
            } else {
                self.out.push(b'B');
                self.out.extend((b.len() as u32).to_le_bytes());
            }
            self.out.extend(b);
        } else if b.is_empty() {
            self.global("__builtin__", "bytes");
            self.out.push(b')');
            self.out.push(b'R');
        } else {
            self.global("_codecs", "encode");
            let latin1: String = b.iter().map(|&c| char::from(c)).collect();
            self.str(&latin1);
            self.str("latin1");
            self.out.push(0x86);
            self.memoize();
            self.out.push(b'R');
        }
        self.memoize();
    }

    fn seq(&mut self, items: &[Val]) {
        for v in items {
            self.value(v);
        }
    }

    fn tuple(&mut self, items: &[Val]) {
        match items.len() {
            0 => return self.out.push(b')'),
            1..=3 => {
                self.seq(items);
                self.out.push(0x84 + items.len() as u8);
            }
            _ => {
                self.out.push(b'(');
                self.seq(items);
                self.out.push(b't');
            }
        }
        self.memoize();
    }

    fn value(&mut self, v: &Val) {
        match v {
            Val::None => self.out.push(b'N'),
            Val::Bool(b) => self.out.push(if *b { 0x88 } else { 0x89 }),
            Val::Int(i) => self.int(*i),
            Val::Float(f) => {
                self.out.push(b'G');
                self.out.extend(f.to_be_bytes());
            }
            Val::Str(s) => self.str(s),
            Val::Bytes(b) => self.bytes(b),
            Val::Tuple(items) => self.tuple(items),
            Val::List(items) => {
                self.out.push(b']');
                self.memoize();
                match items.len() {
                    0 => {}
                    1 => {
                        self.seq(items);
                        self.out.push(b'a');
                    }
                    _ => {
                        self.out.push(b'(');
                        self.seq(items);
                        self.out.push(b'e');
                    }
                }
            }
            Val::Dict(items) => {
                self.out.push(b'}');
                self.memoize();
                if !items.is_empty() {
                    self.out.push(b'(');
                    for (k, v) in items {
                        self.value(k);
                        self.value(v);
                    }
                    self.out.push(b'u');
                }
            }
            Val::Array(a) => self.array(a),
        }
    }

    fn dtype(&mut self, a: &Arr) {
        let key = format!("dtype {}{}", a.order_char(), a.code);
        if let Some(&i) = self.cache.get(&key) {
            return self.get(i);
        }
        self.global("numpy", "dtype");
        self.str(a.code);
        if self.o.int_args {
            self.int(0);
            self.int(1);
        } else {
            self.out.extend([0x89, 0x88]);
        }
        self.out.push(0x87);
        self.memoize();
        self.out.push(b'R');
        let i = self.memoize();
        self.cache.insert(key, i);
        self.out.push(b'(');
        self.int(3);
        self.str(&a.order_char().to_string());
        self.out.extend(b"NNN");
        self.int(-1);
        self.int(-1);
        self.int(0);
        self.out.push(b't');
        self.memoize();
        self.out.push(b'b');
    }

    fn array(&mut self, a: &Arr) {
        let core = if self.o.np2 {
            "numpy._core"
        } else {
            "numpy.core"
        };
        let shape: Vec<Val> = a.shape.iter().map(|&d| Val::Int(d as i64)).collect();
        if self.o.protocol >= 5 {
            self.global(&format!("{core}.numeric"), "_frombuffer");
            self.out.push(b'(');
            let raw = a.stored_bytes();
            self.out.push(0x96);
            self.out.extend((raw.len() as u64).to_le_bytes());
            self.out.extend(&raw);
            self.memoize();
            self.dtype(a);
            self.tuple(&shape);
            self.str(if a.fortran { "F" } else { "C" });
            self.out.push(b't');
            self.memoize();
            self.out.push(b'R');
            self.memoize();
            return;
        }
        self.global(&format!("{core}.multiarray"), "_reconstruct");
        self.global("numpy", "ndarray");
        self.tuple(&[Val::Int(0)]);
        self.bytes(b"b");
        self.out.push(0x87);
        self.memoize();
        self.out.push(b'R');
        self.memoize();
        self.out.push(b'(');
        self.int(1);
        self.tuple(&shape);
        self.dtype(a);
        self.out.push(if a.fortran { 0x88 } else { 0x89 });
        self.bytes(&a.stored_bytes());
        self.out.push(b't');
        self.memoize();
        self.out.push(b'b');
    }
}
