//! The pickle virtual machine: executes opcodes into the [`Arena`], never running any code.
//!
//! Reference behaviour: CPython `pickle._Unpickler` (protocols 2-5): a value stack with a
//! separate mark stack, a memo (BINPUT/LONG_BINPUT/MEMOIZE, BINGET/LONG_BINGET), FRAME as a
//! pure length hint, STOP returning the top of the stack. Globals are resolved only through
//! the whitelist in [`super::globals`].

use std::collections::HashMap;

use super::arena::{Arena, Dict, Id, Obj};
use super::cursor::Cursor;
use super::error::PickleError;
use super::globals::{self, Global};
use super::opcode::{self as op};
use super::torch;
use super::value::PyValue;

mod literals;

/// The unpickler state: input cursor, object arena, value stack, mark stack and memo.
struct Vm<'a> {
    cur: Cursor<'a>,
    arena: Arena<'a>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
}

/// Decodes a whole pickle held in memory.
pub(crate) fn run(data: &[u8]) -> Result<PyValue, PickleError> {
    let mut vm = Vm {
        cur: Cursor::new(data),
        arena: Arena {
            input: data,
            objs: Vec::new(),
        },
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let root = vm.execute()?;
    vm.arena.into_value(root)
}

impl<'a> Vm<'a> {
    fn off(&self) -> u64 {
        self.cur.op_offset
    }

    fn invalid(&self, opcode: &'static str, detail: impl Into<String>) -> PickleError {
        PickleError::Invalid {
            offset: self.off(),
            opcode,
            detail: detail.into(),
        }
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, opcode: &'static str) -> Result<Id, PickleError> {
        let id = self.top(opcode)?;
        self.stack.pop();
        Ok(id)
    }

    fn top(&self, opcode: &'static str) -> Result<Id, PickleError> {
        match self.stack.last() {
            Some(&id) if self.stack.len() > self.floor() => Ok(id),
            _ => Err(PickleError::StackUnderflow {
                offset: self.off(),
                opcode,
            }),
        }
    }

    fn pop_mark(&mut self, opcode: &'static str) -> Result<Vec<Id>, PickleError> {
        let m = self.marks.pop().ok_or(PickleError::MissingMark {
            offset: self.off(),
            opcode,
        })?;
        Ok(self.stack.split_off(m))
    }

    fn push(&mut self, o: Obj) {
        let id = self.arena.push(o);
        self.stack.push(id);
    }

    fn global(&mut self, module: String, name: String) -> Result<(), PickleError> {
        match Global::resolve(&module, &name) {
            Some(g) => {
                self.push(Obj::Global(g));
                Ok(())
            }
            None => Err(PickleError::ForbiddenGlobal {
                offset: self.off(),
                module,
                name,
            }),
        }
    }

    fn memo_put(&mut self, idx: u64, opcode: &'static str) -> Result<(), PickleError> {
        let top = self.top(opcode)?;
        self.memo.insert(idx, top);
        Ok(())
    }

    fn memo_get(&mut self, idx: u64) -> Result<(), PickleError> {
        let id = *self.memo.get(&idx).ok_or(PickleError::MemoMiss {
            offset: self.off(),
            index: idx,
        })?;
        self.stack.push(id);
        Ok(())
    }

    fn set_items(
        &mut self,
        dict: Id,
        items: &[Id],
        opcode: &'static str,
    ) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.invalid(opcode, "odd number of items"));
        }
        for kv in items.chunks_exact(2) {
            self.arena
                .set_item(dict, kv[0], kv[1])
                .map_err(|d| self.invalid(opcode, d))?;
        }
        Ok(())
    }

    fn append(
        &mut self,
        list: Id,
        items: Vec<Id>,
        opcode: &'static str,
    ) -> Result<(), PickleError> {
        let name = self.arena.type_name(list);
        match &mut self.arena.objs[list] {
            Obj::List(v) => {
                v.extend(items);
                Ok(())
            }
            _ => Err(self.invalid(opcode, format!("target has type {name}, expected list"))),
        }
    }

    fn execute(&mut self) -> Result<Id, PickleError> {
        loop {
            self.cur.op_offset = self.cur.pos() as u64;
            let code = self.cur.u8("an opcode (no STOP before end of input)")?;
            match code {
                op::PROTO => {
                    let p = self.cur.u8("PROTO")?;
                    if !(2..=5).contains(&p) {
                        return Err(PickleError::UnsupportedProtocol {
                            offset: self.off(),
                            protocol: p,
                        });
                    }
                }
                op::FRAME => {
                    let n = self.cur.u64_le("FRAME")?;
                    if n > self.cur.remaining() {
                        let remaining = self.cur.remaining();
                        return Err(PickleError::LengthTooLarge {
                            offset: self.off(),
                            what: "FRAME",
                            length: n,
                            remaining,
                        });
                    }
                }
                op::STOP => return self.pop("STOP"),
                op::MARK => self.marks.push(self.stack.len()),
                op::POP => {
                    if self.stack.len() > self.floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark("POP")?;
                    }
                }
                op::POP_MARK => drop(self.pop_mark("POP_MARK")?),
                op::DUP => self.stack.push(self.top("DUP")?),
                op::EMPTY_TUPLE => self.push(Obj::Tuple(Vec::new())),
                op::EMPTY_LIST => self.push(Obj::List(Vec::new())),
                op::EMPTY_DICT => self.push(Obj::Dict(Dict::default())),
                op::TUPLE => {
                    let items = self.pop_mark("TUPLE")?;
                    self.push(Obj::Tuple(items));
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1) + 1;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop("TUPLE1/2/3")?);
                    }
                    items.reverse();
                    self.push(Obj::Tuple(items));
                }
                op::LIST => {
                    let items = self.pop_mark("LIST")?;
                    self.push(Obj::List(items));
                }
                op::DICT => {
                    let items = self.pop_mark("DICT")?;
                    self.push(Obj::Dict(Dict::default()));
                    let d = self.top("DICT")?;
                    self.set_items(d, &items, "DICT")?;
                }
                op::SETITEM => {
                    let v = self.pop("SETITEM")?;
                    let k = self.pop("SETITEM")?;
                    let d = self.top("SETITEM")?;
                    self.set_items(d, &[k, v], "SETITEM")?;
                }
                op::SETITEMS => {
                    let items = self.pop_mark("SETITEMS")?;
                    let d = self.top("SETITEMS")?;
                    self.set_items(d, &items, "SETITEMS")?;
                }
                op::APPEND => {
                    let v = self.pop("APPEND")?;
                    let l = self.top("APPEND")?;
                    self.append(l, vec![v], "APPEND")?;
                }
                op::APPENDS => {
                    let items = self.pop_mark("APPENDS")?;
                    let l = self.top("APPENDS")?;
                    self.append(l, items, "APPENDS")?;
                }
                op::BINPUT => {
                    let i = self.cur.u8("BINPUT")?;
                    self.memo_put(i.into(), "BINPUT")?;
                }
                op::LONG_BINPUT => {
                    let i = self.cur.u32_le("LONG_BINPUT")?;
                    self.memo_put(i.into(), "LONG_BINPUT")?;
                }
                op::MEMOIZE => self.memo_put(self.memo.len() as u64, "MEMOIZE")?,
                op::BINGET => {
                    let i = self.cur.u8("BINGET")?;
                    self.memo_get(i.into())?;
                }
                op::LONG_BINGET => {
                    let i = self.cur.u32_le("LONG_BINGET")?;
                    self.memo_get(i.into())?;
                }
                op::GLOBAL => {
                    let m = self.cur.line("GLOBAL module")?;
                    let m = self.text(m, "GLOBAL module")?;
                    let n = self.cur.line("GLOBAL name")?;
                    let n = self.text(n, "GLOBAL name")?;
                    self.global(m, n)?;
                }
                op::STACK_GLOBAL => {
                    let n = self.pop("STACK_GLOBAL")?;
                    let m = self.pop("STACK_GLOBAL")?;
                    match (self.arena.get(m), self.arena.get(n)) {
                        (Obj::Str(m), Obj::Str(n)) => self.global(m.clone(), n.clone())?,
                        _ => {
                            return Err(self.invalid("STACK_GLOBAL", "module and name must be str"));
                        }
                    }
                }
                op::REDUCE => {
                    let args = self.pop("REDUCE")?;
                    let f = self.pop("REDUCE")?;
                    let Obj::Global(g) = *self.arena.get(f) else {
                        let t = self.arena.type_name(f);
                        return Err(self.invalid("REDUCE", format!("callable has type {t}")));
                    };
                    let o = globals::reduce(&self.arena, g, args, self.off())?;
                    self.push(o);
                }
                op::BUILD => {
                    let state = self.pop("BUILD")?;
                    let target = self.top("BUILD")?;
                    let offset = self.off();
                    globals::build(&mut self.arena, target, state, offset)?;
                }
                op::BINPERSID => {
                    let pid = self.pop("BINPERSID")?;
                    let o = torch::persistent_load(&self.arena, pid, self.off())?;
                    self.push(o);
                }
                op::PERSID => {
                    let line = self.cur.line("PERSID")?;
                    let id = String::from_utf8_lossy(line).into_owned();
                    return Err(self.invalid(
                        "PERSID",
                        format!("persistent id '{id}' is not a torch storage"),
                    ));
                }
                other => self.literal(other)?,
            }
        }
    }
}
