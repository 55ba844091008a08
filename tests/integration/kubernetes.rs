//! `deploy/kubernetes/`: the manifests parsed and checked for what kubectl cannot see
//! without a cluster — N written once and copied by kustomization.yaml to every place that
//! needs it, the image named once, the volume shared, the labels the README's `-l` picks —
//! and the pods' shell commands run, with the real lbsim, as the Jobs would run them: the
//! index arithmetic must deal out every task, and the merge must write what one run writes.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{SMALL, lbsim, root, tree, write};

fn load(name: &str) -> Vec<Yaml> {
    let path = root().join("deploy/kubernetes").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The manifest's objects, by kind and name.
struct Manifest {
    objects: Vec<Yaml>,
}

impl Manifest {
    fn load() -> Self {
        Manifest {
            objects: load("indexed-job.yaml"),
        }
    }

    fn get(&self, kind: &str, name: &str) -> &Yaml {
        self.objects
            .iter()
            .find(|o| {
                o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    /// The container named `lbsim` of a Job.
    fn container(&self, job: &str) -> &Yaml {
        self.get("Job", job)["spec"]["template"]["spec"]["containers"]
            .as_vec()
            .and_then(|c| c.iter().find(|c| c["name"].as_str() == Some("lbsim")))
            .unwrap_or_else(|| panic!("{job}: no container lbsim"))
    }

    /// The container's shell script: `command: [/bin/sh, -c]` and one argument.
    fn script(&self, job: &str) -> String {
        let container = self.container(job);
        let command: Vec<&str> = container["command"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(command, ["/bin/sh", "-c"], "{job}");
        let args = container["args"].as_vec().unwrap();
        assert_eq!(args.len(), 1, "{job}: one script");
        args[0].as_str().unwrap().to_string()
    }

    /// The number of shards, N.
    fn shards(&self) -> i64 {
        self.get("Job", "lbsim-shards")["spec"]["completions"]
            .as_i64()
            .expect("completions is an integer")
    }
}

/// Every scalar of a document, as text.
fn scalars(yaml: &Yaml, into: &mut Vec<String>) {
    match yaml {
        Yaml::Array(items) => items.iter().for_each(|i| scalars(i, into)),
        Yaml::Hash(map) => map.iter().for_each(|(k, v)| {
            scalars(k, into);
            scalars(v, into);
        }),
        Yaml::Integer(i) => into.push(i.to_string()),
        Yaml::String(s) | Yaml::Real(s) => into.push(s.clone()),
        _ => {}
    }
}

#[test]
fn n_is_written_once_and_kustomization_copies_it_everywhere_it_is_needed() {
    let manifest = Manifest::load();
    let shards = manifest.get("Job", "lbsim-shards");
    assert_eq!(shards["spec"]["completionMode"].as_str(), Some("Indexed"));
    let n = manifest.shards();
    assert!(n >= 1);

    let mut values = Vec::new();
    for object in manifest.objects.iter().chain(&load("kustomization.yaml")) {
        scalars(object, &mut values);
    }
    let n_text = n.to_string();
    assert_eq!(
        values.iter().filter(|v| **v == n_text).count(),
        1,
        "N = {n} must be written once, as completions: {values:?}"
    );

    let kustomization = &load("kustomization.yaml")[0];
    let resources = kustomization["resources"].as_vec().unwrap();
    assert_eq!(resources, &[Yaml::String("indexed-job.yaml".into())]);
    let replacements = kustomization["replacements"].as_vec().unwrap();
    let from_completions = replacements
        .iter()
        .find(|r| {
            r["source"]["kind"].as_str() == Some("Job")
                && r["source"]["name"].as_str() == Some("lbsim-shards")
                && r["source"]["fieldPath"].as_str() == Some("spec.completions")
        })
        .expect("a replacement from the shards Job's completions");
    let mut targets: Vec<(String, String)> = Vec::new();
    for target in from_completions["targets"].as_vec().unwrap() {
        assert_eq!(target["select"]["kind"].as_str(), Some("Job"));
        let job = target["select"]["name"].as_str().unwrap();
        for path in target["fieldPaths"].as_vec().unwrap() {
            targets.push((job.to_string(), path.as_str().unwrap().to_string()));
        }
    }
    let env = "spec.template.spec.containers.[name=lbsim].env.[name=SHARDS].value";
    for (job, path) in [
        ("lbsim-shards", env),
        ("lbsim-shards", "spec.parallelism"),
        ("lbsim-merge", env),
    ] {
        assert!(
            targets.contains(&(job.to_string(), path.to_string())),
            "{job} {path} is not set from completions: {targets:?}"
        );
    }
    // The targets exist, so that kustomize replaces rather than fails.
    for job in ["lbsim-shards", "lbsim-merge"] {
        let env = manifest.container(job)["env"].as_vec().unwrap();
        assert!(
            env.iter().any(|e| e["name"].as_str() == Some("SHARDS")),
            "{job}: no SHARDS"
        );
    }
    assert!(shards["spec"]["parallelism"].as_i64().is_some());

    // One image, named in the kustomization, for both Jobs.
    let images = kustomization["images"].as_vec().unwrap();
    assert_eq!(images.len(), 1);
    let image = images[0]["name"].as_str().unwrap();
    for job in ["lbsim-shards", "lbsim-merge"] {
        assert_eq!(
            manifest.container(job)["image"].as_str(),
            Some(image),
            "{job}"
        );
    }
}

#[test]
fn both_jobs_share_the_volume_and_the_folder_and_the_labels_split_the_steps() {
    let manifest = Manifest::load();
    let claim = manifest.get("PersistentVolumeClaim", "lbsim-results");
    assert_eq!(
        claim["spec"]["accessModes"].as_vec().unwrap(),
        &[Yaml::String("ReadWriteMany".into())]
    );
    for (job, step) in [("lbsim-shards", "shards"), ("lbsim-merge", "merge")] {
        let object = manifest.get("Job", job);
        assert_eq!(
            object["metadata"]["labels"]["lbsim/step"].as_str(),
            Some(step)
        );
        let pod = &object["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"].as_str(), Some("Never"), "{job}");
        let volume = &pod["volumes"][0];
        assert_eq!(
            volume["persistentVolumeClaim"]["claimName"].as_str(),
            Some("lbsim-results"),
            "{job}"
        );
        let container = manifest.container(job);
        let mount = &container["volumeMounts"][0];
        assert_eq!(mount["name"].as_str(), volume["name"].as_str(), "{job}");
        assert_eq!(mount["mountPath"].as_str(), Some("/results"), "{job}");
        // Both in the folder the scenarios' relative paths (traces) start from.
        assert_eq!(container["workingDir"].as_str(), Some("/work"), "{job}");
    }
    // The claim is created with the shards, which need it first.
    assert_eq!(
        claim["metadata"]["labels"]["lbsim/step"].as_str(),
        Some("shards")
    );
}

/// Runs a pod's script as the Job would: `sh -c`, in `work` (the image's /work), `lbsim`
/// on PATH, the volume at `results` rather than /results.
fn run_pod(script: &str, work: &Path, results: &Path, env: &[(&str, String)]) {
    let bin = work.join("bin");
    let script = script.replace("/results", &results.display().to_string());
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(work)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{env:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_pods_deal_every_task_once_and_the_merge_writes_what_one_run_writes() {
    let manifest = Manifest::load();
    let n = manifest.shards();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let results = dir.path().join("results");
    for folder in [&work.join("bin"), &work.join("scenarios"), &results] {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lbsim"), work.join("bin/lbsim")).unwrap();
    write(&work.join("scenarios"), "small.toml", SMALL);

    // Left on the volume by an earlier run with more shards and another scenario: ignored
    // and cleared.
    std::fs::create_dir_all(results.join(format!("shard-{}", n + 1))).unwrap();
    write(
        &results.join(format!("shard-{}", n + 1)),
        "junk.lbsim",
        "not a shard",
    );
    std::fs::create_dir_all(results.join("merged/gone")).unwrap();
    write(&results.join("merged/gone"), "summary.csv", "stale");
    std::fs::create_dir_all(results.join("shard-1/gone")).unwrap();
    write(
        &results.join("shard-1/gone"),
        "shard-1-of-99.lbsim",
        "stale",
    );

    let shards = manifest.script("lbsim-shards");
    for index in 0..n {
        run_pod(
            &shards,
            &work,
            &results,
            &[
                ("JOB_COMPLETION_INDEX", index.to_string()),
                ("SHARDS", n.to_string()),
            ],
        );
        let k = index + 1;
        assert!(
            results
                .join(format!("shard-{k}/small/shard-{k}-of-{n}.lbsim"))
                .is_file(),
            "pod {index} wrote shard {k} of {n}"
        );
    }
    run_pod(
        &manifest.script("lbsim-merge"),
        &work,
        &results,
        &[("SHARDS", n.to_string())],
    );

    let direct = lbsim(&work, &["run", "scenarios", "--out", "direct", "--quiet"]);
    assert!(direct.status.success());
    assert_eq!(tree(&results.join("merged")), tree(&work.join("direct")));
}

#[test]
fn a_pod_without_n_says_how_to_apply_the_manifest() {
    let manifest = Manifest::load();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    for job in ["lbsim-shards", "lbsim-merge"] {
        // As applied with -f alone: SHARDS keeps the manifest's own text.
        let unset = manifest.container(job)["env"][0]["value"]
            .as_str()
            .unwrap()
            .to_string();
        let output = Command::new("sh")
            .args(["-c", &manifest.script(job)])
            .current_dir(dir.path())
            .env("SHARDS", unset)
            .env("JOB_COMPLETION_INDEX", "0")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{job}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("apply with kubectl apply -k deploy/kubernetes"),
            "{job}: {stderr}"
        );
    }
}
