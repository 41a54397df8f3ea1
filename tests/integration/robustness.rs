//! Seeded property tests that feed the parsers of user input garbage: no input may panic or
//! abort the process (issue 21, "fuzzing"). Each target mutates a corpus of valid inputs
//! (byte flips, insertions of the characters each format treats specially, truncations,
//! repeats) with a generator of fixed seed, so a failure reproduces; the rounds are few
//! enough to run in CI in seconds. A parser may refuse an input, never crash on it.
//!
//! `REELDB_FUZZ_ROUNDS=100000 cargo test -p reeldb-tests --test integration robustness` runs
//! longer campaigns.

use reeldb_engine::Manifest;
use reeldb_query::ingest::{TranscriptFormat, parse_transcript, read_embeddings};
use reeldb_query::{StatementTracker, ends_statement, parse_reeldb_statement, split_statements};

/// SplitMix64, seeded per target.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn rounds() -> usize {
    std::env::var("REELDB_FUZZ_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// A mutation of one of `corpus`, with `specials` as the bytes worth inserting.
fn mutate(rng: &mut Rng, corpus: &[&[u8]], specials: &[&[u8]]) -> Vec<u8> {
    let mut input = corpus[rng.below(corpus.len())].to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let special = specials[rng.below(specials.len())];
                input.splice(at..at, special.iter().copied());
            }
            2 => input.truncate(at),
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                let piece = input[at..end].to_vec();
                for _ in 0..1 + rng.below(8) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            4 => input.insert(at, rng.next() as u8),
            _ if at < input.len() => {
                let end = (at + rng.below(8)).min(input.len());
                input.drain(at..end);
            }
            _ => {}
        }
    }
    input
}

const SQL_SPECIALS: &[&[u8]] = &[
    b"'",
    b"\"",
    b"--",
    b"/*",
    b"*/",
    b";",
    b"(",
    b")",
    b",",
    b"=",
    b"=>",
    b"\n",
    b"''",
    b"\xc3\xa9",
    b"\xf0\x9f\x8e\xac",
    b"\0",
    b"INGEST",
    b"WITH",
    b"CLUSTER",
    b"VECTOR",
    b"99999999999999999999999",
    b"-1",
    b"1e309",
];

#[test]
fn the_statement_grammar_and_splitter_never_panic() {
    let corpus: &[&[u8]] = &[
        b"COPY frames FROM 'frames.csv' WITH (FORMAT csv, HEADER true, DELIMITER ';')",
        b"INGEST FRAMES FROM 'dir' WITH (interval = '4s', model = 'builtin,clip')",
        b"CLUSTER frames ON clip USING hdbscan (min_cluster_size = 3) PARTITION BY video INTO topic",
        b"CREATE VECTOR INDEX IF NOT EXISTS i ON t (v) USING HNSW WITH (metric = 'cosine', m = 16)",
        b"DROP VECTOR INDEX IF EXISTS i; SHOW VECTOR INDEXES; VACUUM KEEP 2 VERSIONS",
        b"CREATE MODEL clip FROM '/models/clip' WITH (size = 224)",
        b"ALTER TABLE t ALTER COLUMN v SET MODEL clip; COMPACT TABLE t",
        b"SELECT 'a;b' /* ; */ FROM t -- ;\nWHERE x = \"q;\"; SELECT 1;",
    ];
    let mut rng = Rng(14);
    for _ in 0..rounds() {
        let input = mutate(&mut rng, corpus, SQL_SPECIALS);
        let text = String::from_utf8_lossy(&input);
        let _ = parse_reeldb_statement(&text);
        let statements = split_statements(&text);
        for statement in &statements {
            assert!(text.contains(&statement.text), "{text:?}");
            let _ = parse_reeldb_statement(&statement.text);
        }
        let whole = ends_statement(&text);
        let mut tracker = StatementTracker::default();
        let split = rng.below(text.len() + 1);
        let split = (0..=split)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        tracker.push(&text[..split]);
        tracker.push(&text[split..]);
        assert_eq!(tracker.ends_statement(), whole, "{text:?} split at {split}");
    }
}

#[test]
fn the_manifest_reader_refuses_damage_without_panicking() {
    // A real manifest: a table with a vector column, a data file and an index.
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("m.reeldb")).unwrap();
    reeldb_tests::sql(
        &db,
        "CREATE TABLE t (id BIGINT NOT NULL, v VECTOR(2), ts TIMESTAMP); \
         INSERT INTO t VALUES (1, [1, 0], NULL); \
         CREATE VECTOR INDEX i ON t (v)",
    );
    let manifests = dir.path().join("m.reeldb/manifests");
    let newest = std::fs::read_dir(&manifests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let valid = std::fs::read(&newest).unwrap();
    let body_start = valid.iter().position(|&b| b == b'\n').unwrap() + 1;
    let body = &valid[body_start..];
    let specials: &[&[u8]] = &[
        b" ",
        b"\n",
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"null",
        b"-1",
        b"99999999999999999999",
        b"FixedSizeList(2147483647 x Float32)",
        b"\xff",
        b"..",
    ];
    let mut rng = Rng(17);
    for round in 0..rounds() {
        let input = if round % 2 == 0 {
            // The header's length and checksum made to match, so the body is what is tested.
            let body = mutate(&mut rng, &[body], specials);
            let mut input = format!(
                "REELDB-MANIFEST 1 {} {:08x}\n",
                body.len(),
                crc32fast::hash(&body)
            )
            .into_bytes();
            input.extend_from_slice(&body);
            input
        } else {
            mutate(&mut rng, &[&valid], specials)
        };
        if let Ok(manifest) = Manifest::decode(&newest, &input) {
            // Whatever decodes must encode again, and every table's schema must be usable.
            manifest.encode().unwrap();
            for table in &manifest.tables {
                let _ = table.schema();
            }
        }
    }
}

#[test]
fn the_transcript_parsers_never_panic() {
    let corpus: &[&[u8]] = &[
        b"1\n00:00:01,000 --> 00:00:04,000\nGood evening.\n\n2\n00:00:04,500 --> 00:00:07,250\nThe news.\n",
        b"WEBVTT\n\n00:01.000 --> 00:04.000 align:start\nHello\n\n01:00:04.500 --> 01:00:07.000\n<v Anchor>World\n",
        b"[{\"start\": 0.5, \"duration\": 2.0, \"text\": \"a\"}, {\"start\": 2.5, \"end\": 4, \"text\": \"b\"}]",
        b"{\"segments\": [{\"start\": 0, \"end\": 1.5, \"text\": \"c\"}]}",
    ];
    let specials: &[&[u8]] = &[
        b"-->",
        b"\n\n",
        b":",
        b",",
        b".",
        b"99:99:99,999",
        b"-1",
        b"1e308",
        b"NaN",
        b"\xef\xbb\xbf",
        b"{",
        b"[",
        b"\"",
        b"null",
    ];
    let mut rng = Rng(21);
    for _ in 0..rounds() {
        let input = mutate(&mut rng, corpus, specials);
        let text = String::from_utf8_lossy(&input);
        for format in [
            TranscriptFormat::Srt,
            TranscriptFormat::WebVtt,
            TranscriptFormat::Json,
        ] {
            if let Ok(segments) = parse_transcript(&text, format) {
                for segment in segments {
                    assert!(segment.start.is_finite(), "{text:?}");
                }
            }
        }
    }
}

#[test]
fn the_embeddings_readers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.txt");
    std::fs::write(&ids, "a.jpg\nb.jpg\n").unwrap();
    let mut npy =
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
            .to_vec();
    npy.resize(10 + 118, b' ');
    npy.push(b'\n');
    for v in [1.0f32, 0.0, 0.0, 1.0] {
        npy.extend_from_slice(&v.to_le_bytes());
    }
    let jsonl: &[u8] = b"{\"image\": \"a.jpg\", \"embedding\": [0.1, 0.2]}\n{\"image\": \"b.jpg\", \"embedding\": [0.3, 0.4]}\n";
    let json: &[u8] = b"[{\"file\": \"a.jpg\", \"values\": [1, 2]}]";
    let specials: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b",",
        b"\n",
        b"1e309",
        b"-",
        b"null",
        b"(",
        b")",
        b"<f8",
        b"'shape': (",
        b"\x00\x00\x80\x7f",
    ];
    let mut rng = Rng(33);
    // File reads cost more than parsing text: a tenth of the rounds.
    for round in 0..rounds() / 10 {
        for (name, corpus) in [("e.jsonl", jsonl), ("e.json", json), ("e.npy", &npy[..])] {
            let input = mutate(&mut rng, &[corpus], specials);
            let path = dir.path().join(format!("{round}-{name}"));
            std::fs::write(&path, &input).unwrap();
            let _ = read_embeddings(&path, Some(&ids));
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn the_report_parser_and_binder_never_panic() {
    use reeldb_query::report::{Parameters, ReportDocument};
    let corpus: &[&[u8]] = &[
        b"# Nightly {{day}}\n\nText **{{ day }}** [l]({{u}} \"{{t}}\")\n\n```sql csv=a rows=5\nSELECT $day::date, '$x' -- $y\n; SELECT 1\n```\n",
        b"- item\n\n  ```SQL parquet=p\n  SELECT $n::int\n  ```\n\n> ```sql\n> SELECT 2;\n> ```\n",
        b"| a | b |\n|---|---|\n| {{a}} | `{{b}}` |\n\n<p>{{c}}</p>\n\n    ```sql\n    not run\n",
        b"```sql\n```\n```sql cvs=x\nSELECT 1\n```\n~~~sql rows=many\nSELECT 2\n~~~\n",
    ];
    let specials: &[&[u8]] = &[
        b"```", b"~~~", b"```sql ", b"{{", b"}}", b"$", b"$a", b"\n", b"  ", b"> ", b"- ", b"'",
        b";", b"csv=", b"rows=", b"=", b"<", b"\xe9",
    ];
    let mut parameters = Parameters::new();
    for name in ["day", "u", "t", "n", "a", "b", "c", "x", "y"] {
        parameters.insert(name, "v'1").unwrap();
    }
    let mut rng = Rng(15);
    for _ in 0..rounds() {
        let input = mutate(&mut rng, corpus, specials);
        let text = String::from_utf8_lossy(&input);
        let Ok(document) = ReportDocument::parse("r.md", text.as_ref()) else {
            continue;
        };
        for every in [false, true] {
            if let Ok(statements) = document.bind(&parameters, every) {
                for statement in statements {
                    assert!(statement.line >= 1 && statement.line <= text.lines().count() + 1);
                }
            }
        }
        let _ = document.bind(&Parameters::new(), false);
    }
}
