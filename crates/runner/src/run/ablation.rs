//! The `ablation:` grid of an experiment: the cartesian product of its axes applied to one
//! method block, each grid point a variant labelled with its values (`guidance=0.3`); the other
//! blocks pass through as single variants. Labels must be unique across variants.

use super::spec_file::{ExperimentError, SpecFile};

/// A method block after the ablation grid: its YAML, label and ablation values.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Index of the `methods[i]` block it came from.
    pub block: usize,
    /// The block with the grid values set.
    pub value: serde_yaml::Value,
    /// Label.
    pub label: String,
    /// `field=value;...`.
    pub variant: String,
    /// First variant of its block.
    pub primary: bool,
}

fn yaml_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Expands the ablation grid over the method blocks.
pub fn variants(file: &SpecFile) -> Result<Vec<Variant>, ExperimentError> {
    let spec = &file.spec;
    if spec.methods.is_empty() {
        return Err(file.invalid("methods", "at least one method is needed"));
    }
    let label_of = |i: usize, v: &serde_yaml::Value| -> String {
        v.get("label")
            .or_else(|| v.get("method"))
            .map(yaml_text)
            .unwrap_or_else(|| format!("method-{i}"))
    };
    let mut out = Vec::new();
    let target = match &spec.ablation {
        None => None,
        Some(a) => {
            let idx = match &a.method {
                None => 0,
                Some(name) => (0..spec.methods.len())
                    .find(|&i| label_of(i, &spec.methods[i]) == *name)
                    .or_else(|| {
                        (0..spec.methods.len()).find(|&i| {
                            spec.methods[i].get("method").map(yaml_text).as_deref()
                                == Some(name.as_str())
                        })
                    })
                    .ok_or_else(|| {
                        file.invalid("ablation.method", format!("no method block '{name}'"))
                    })?,
            };
            if a.axes.is_empty() {
                return Err(file.invalid("ablation.axes", "at least one axis is needed"));
            }
            for (j, axis) in a.axes.iter().enumerate() {
                if axis.values.is_empty() {
                    return Err(file.invalid(&format!("ablation.axes[{j}].values"), "empty"));
                }
                let first = axis.field.split('.').next().unwrap_or_default();
                if !matches!(first, "model" | "training" | "sampling") {
                    return Err(file.invalid(
                        &format!("ablation.axes[{j}].field"),
                        format!(
                            "'{}': must start with model., training. or sampling.",
                            axis.field
                        ),
                    ));
                }
            }
            Some((idx, a))
        }
    };
    for (i, block) in spec.methods.iter().enumerate() {
        let base = label_of(i, block);
        match target {
            Some((idx, ablation)) if idx == i => {
                let mut grid: Vec<Vec<(String, serde_yaml::Value)>> = vec![Vec::new()];
                for axis in &ablation.axes {
                    grid = grid
                        .into_iter()
                        .flat_map(|point| {
                            axis.values.iter().map(move |v| {
                                let mut p = point.clone();
                                p.push((axis.field.clone(), v.clone()));
                                p
                            })
                        })
                        .collect();
                }
                for (g, point) in grid.into_iter().enumerate() {
                    let mut value = block.clone();
                    for (field, v) in &point {
                        set_path(&mut value, field, v.clone());
                    }
                    let short: Vec<String> = point
                        .iter()
                        .map(|(f, v)| {
                            format!("{}={}", f.rsplit('.').next().unwrap_or(f), yaml_text(v))
                        })
                        .collect();
                    let long: Vec<String> = point
                        .iter()
                        .map(|(f, v)| format!("{f}={}", yaml_text(v)))
                        .collect();
                    out.push(Variant {
                        block: i,
                        value,
                        label: format!("{base} ({})", short.join(", ")),
                        variant: long.join(";"),
                        primary: g == 0,
                    });
                }
            }
            _ => out.push(Variant {
                block: i,
                value: block.clone(),
                label: base,
                variant: String::new(),
                primary: true,
            }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for v in &out {
        if !seen.insert(v.label.clone()) {
            return Err(file.invalid(
                &format!("methods[{}].label", v.block),
                format!(
                    "label '{}' is used twice; give each block a unique `label`",
                    v.label
                ),
            ));
        }
        if v.label.contains(['\n', '"']) {
            return Err(file.invalid(
                &format!("methods[{}].label", v.block),
                "no quotes or newlines",
            ));
        }
    }
    Ok(out)
}

/// Sets the dotted `field` of a YAML mapping to `v`, creating intermediate mappings.
pub fn set_path(value: &mut serde_yaml::Value, field: &str, v: serde_yaml::Value) {
    let mut cur = value;
    let parts: Vec<&str> = field.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_mapping() {
            *cur = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
        }
        let serde_yaml::Value::Mapping(map) = cur else {
            return;
        };
        let key = serde_yaml::Value::from(*part);
        if i + 1 == parts.len() {
            map.insert(key, v);
            return;
        }
        cur = map
            .entry(key)
            .or_insert_with(|| serde_yaml::Value::Mapping(serde_yaml::Mapping::new()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn set_path_creates_and_replaces_nested_keys() {
        let mut v: serde_yaml::Value = serde_yaml::from_str("sampling: { steps: 4 }").unwrap();
        set_path(&mut v, "sampling.guidance", serde_yaml::Value::from(1.5));
        set_path(&mut v, "training.seed", serde_yaml::Value::from(3));
        set_path(&mut v, "sampling.steps", serde_yaml::Value::from(8));
        let text = serde_yaml::to_string(&v).unwrap();
        assert!(
            text.contains("guidance: 1.5") && text.contains("seed: 3") && text.contains("steps: 8")
        );
    }
}
