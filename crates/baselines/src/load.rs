//! Rebuilding a trained baseline from its model folder ([`fmseg_model::folder`]):
//! `config.json` names the `method` and holds its config under the method id;
//! `model.safetensors` (EMA when EMA was on) or `model_raw.safetensors` holds the parameters
//! keyed by module path ([`crate::common::params`]).

use std::path::Path;

use burn::tensor::Device;
use fmseg_model::checkpoint_load::WeightSelection;
use fmseg_model::folder::{FolderError, Snapshot, folder_method, read_config, weights_at};
use fmseg_model::unet::read_safetensors;
use fmseg_model::{MethodId, SegmentationSampler};

use crate::cimd::Cimd;
use crate::common::objective::BaselineModel;
use crate::common::params::import_params;
use crate::common::passes::Batched;
use crate::method::{BaselineConfig, BaselineOp};

impl BaselineConfig {
    /// The config a baseline folder was trained with (its `config.json`).
    pub fn from_folder(dir: &Path) -> Result<Self, FolderError> {
        let method = folder_method(dir)?;
        let (json, path) = read_config(dir)?;
        if method == MethodId::Flow {
            return Err(FolderError::new(
                &path,
                "a flow-model folder, not a baseline",
            ));
        }
        let config = json
            .get(method.as_str())
            .cloned()
            .ok_or_else(|| FolderError::new(&path, format!("no `{method}` config object")))?;
        let value =
            serde_yaml::to_value(config).map_err(|e| FolderError::new(&path, e.to_string()))?;
        Self::from_value(method, value)
            .map_err(|e| FolderError::new(&path, e.within(method.as_str()).to_string()))
    }

    /// The trained model of `dir` with these settings as a sampler on `device` (a plain,
    /// non-autodiff device), with `selection`'s weight file, drawing at most `max_batch` rows
    /// per network pass ([`crate::common::passes`]); `snapshot` picks the exported weights or a
    /// training checkpoint's.
    pub fn load_sampler(
        &self,
        dir: &Path,
        selection: WeightSelection,
        snapshot: Snapshot,
        max_batch: usize,
        device: &Device,
    ) -> Result<Box<dyn SegmentationSampler>, FolderError> {
        struct Load<'a> {
            weights: &'a Path,
            max_batch: usize,
            device: &'a Device,
        }
        impl BaselineOp for Load<'_> {
            type Output = Result<Box<dyn SegmentationSampler>, FolderError>;
            fn apply<M: BaselineModel>(self, config: &M::Config) -> Self::Output {
                let model = load_model::<M>(config, self.weights, self.device)?;
                Ok(Box::new(Batched {
                    model,
                    max_batch: self.max_batch,
                }))
            }
        }
        let weights = weights_at(dir, selection, snapshot)?;
        self.visit(Load {
            weights: &weights,
            max_batch,
            device,
        })
    }
}
/// The trained CIMD model of `dir` (a CIMD folder) with `selection`'s weights, on `device`, for
/// [`Cimd::diagnose`]; another method's folder is an error naming its method.
pub fn load_cimd(
    dir: &Path,
    selection: WeightSelection,
    device: &Device,
) -> Result<Cimd, FolderError> {
    let BaselineConfig::Cimd(config) = BaselineConfig::from_folder(dir)? else {
        return Err(FolderError::new(
            dir,
            format!("a {} folder, not CIMD", folder_method(dir)?),
        ));
    };
    let weights = weights_at(dir, selection, Snapshot::Final)?;
    load_model::<Cimd>(&config, &weights, device)
}

/// A model of `config` on `device` with the parameters of the safetensors file `weights`; errors
/// name the file.
fn load_model<M: BaselineModel>(
    config: &M::Config,
    weights: &Path,
    device: &Device,
) -> Result<M, FolderError> {
    let bad = |message: String| FolderError::new(weights, message);
    let model = M::build(config, device).map_err(|e| bad(e.to_string()))?;
    let tensors = read_safetensors(weights).map_err(|e| bad(e.to_string()))?;
    import_params(model, tensors, &weights.display().to_string()).map_err(|e| bad(e.to_string()))
}
