//! Just enough of the ZIP format to read `torch.save` archives, whose records are *stored*
//! (compression method 0, PyTorch's `PyTorchFileWriter` never compresses), including ZIP64.
//!
//! Reference behaviour: PKWARE APPNOTE.TXT 6.3 - end of central directory record (4.3.16),
//! ZIP64 end of central directory locator/record (4.3.14-15), central directory headers
//! (4.3.12), local file headers (4.3.7), ZIP64 extended information extra field (4.5.3).
//! Every offset and length is bounds-checked; a compressed record is an error, not a guess.

use std::ops::Range;

/// One record: its name and where its bytes lie in the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Path inside the archive, e.g. `weights/data/0`.
    pub name: String,
    /// Byte range of the (stored) payload.
    pub range: Range<usize>,
}

fn le(data: &[u8], at: usize, n: usize) -> Result<u64, String> {
    let b = data
        .get(at..at.checked_add(n).ok_or("offset overflow")?)
        .ok_or_else(|| format!("archive ends inside a header field at byte {at}"))?;
    Ok(b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

fn sig(data: &[u8], at: usize, want: u32, what: &str) -> Result<(), String> {
    if le(data, at, 4)? == u64::from(want) {
        Ok(())
    } else {
        Err(format!("no {what} signature at byte {at}"))
    }
}

fn usize_of(v: u64) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("offset {v} does not fit in memory"))
}

/// Lists the records of a stored-only ZIP archive held in memory.
pub fn records(data: &[u8]) -> Result<Vec<Record>, String> {
    // end of central directory: 22 bytes + comment (<= 65535) at the end
    let lo = data.len().saturating_sub(22 + 65_535);
    let eocd = (lo..=data.len().saturating_sub(22))
        .rev()
        .find(|&i| data[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or("not a zip archive (no end of central directory record)")?;
    let mut count = le(data, eocd + 10, 2)?;
    let mut cd_off = le(data, eocd + 16, 4)?;
    if count == 0xffff || cd_off == 0xffff_ffff {
        let loc = eocd.checked_sub(20).ok_or("truncated zip64 locator")?;
        sig(data, loc, 0x0706_4b50, "zip64 locator")?;
        let rec = usize_of(le(data, loc + 8, 8)?)?;
        sig(data, rec, 0x0606_4b50, "zip64 end of central directory")?;
        count = le(data, rec + 32, 8)?;
        cd_off = le(data, rec + 48, 8)?;
    }
    // each central directory header is at least 46 bytes: bounds the allocation
    if count > (data.len() / 46) as u64 {
        return Err(format!("central directory claims {count} records"));
    }
    let mut at = usize_of(cd_off)?;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        sig(data, at, 0x0201_4b50, "central directory header")?;
        let method = le(data, at + 10, 2)?;
        let mut csize = le(data, at + 20, 4)?;
        let mut usize_ = le(data, at + 24, 4)?;
        let name_len = usize_of(le(data, at + 28, 2)?)?;
        let extra_len = usize_of(le(data, at + 30, 2)?)?;
        let comment_len = usize_of(le(data, at + 32, 2)?)?;
        let mut local = le(data, at + 42, 4)?;
        let name_at = at + 46;
        let name = data
            .get(name_at..name_at + name_len)
            .ok_or("truncated record name")?;
        let name = String::from_utf8_lossy(name).into_owned();
        // ZIP64 extra field: the 0xffffffff fields, in the order usize, csize, local offset
        let mut x = name_at + name_len;
        let x_end = x + extra_len;
        while x + 4 <= x_end {
            let (id, len) = (le(data, x, 2)?, usize_of(le(data, x + 2, 2)?)?);
            if id == 1 {
                let mut p = x + 4;
                for field in [&mut usize_, &mut csize, &mut local] {
                    if *field == 0xffff_ffff && p + 8 <= x + 4 + len {
                        *field = le(data, p, 8)?;
                        p += 8;
                    }
                }
            }
            x += 4 + len;
        }
        if method != 0 || csize != usize_ {
            return Err(format!(
                "record '{name}' is compressed (method {method}); only stored records are read"
            ));
        }
        let local = usize_of(local)?;
        sig(data, local, 0x0403_4b50, "local file header")?;
        let start =
            local + 30 + usize_of(le(data, local + 26, 2)?)? + usize_of(le(data, local + 28, 2)?)?;
        let end = start
            .checked_add(usize_of(csize)?)
            .ok_or("record size overflow")?;
        if end > data.len() {
            return Err(format!("record '{name}' runs past the end of the archive"));
        }
        out.push(Record {
            name,
            range: start..end,
        });
        at = x_end + comment_len;
    }
    Ok(out)
}
