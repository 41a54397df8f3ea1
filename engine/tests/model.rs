//! Random sequences of engine operations checked against an in-memory model.
//!
//! Each seed drives a different sequence of creates, drops, appends, deletes (file
//! replacement), rolled-back transactions, compactions, vacuums and reopens; after every step
//! the database must hold exactly what the model says. Seeded, so every run is the same.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use reeldb_engine::{Database, read_data_file};

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

const TABLES: [&str; 3] = ["a", "b", "c"];

fn schema() -> Schema {
    Schema::new(vec![Field::new("x", DataType::Int64, false)])
}

fn batch(values: &[i64]) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![Arc::new(Int64Array::from(values.to_vec())) as ArrayRef],
    )
    .unwrap()
}

/// What the database holds: table name -> sorted values.
type Model = BTreeMap<String, Vec<i64>>;

fn contents(db: &Database) -> Model {
    let snapshot = db.snapshot().unwrap();
    let mut model = Model::new();
    for table in &snapshot.manifest().tables {
        let mut values = Vec::new();
        for file in &table.files {
            snapshot.check_data_file(file).unwrap();
            for batch in read_data_file(&snapshot.data_file_path(file)).unwrap() {
                values.extend(
                    batch
                        .unwrap()
                        .column(0)
                        .as_primitive::<Int64Type>()
                        .values(),
                );
            }
        }
        values.sort_unstable();
        model.insert(table.name.clone(), values);
    }
    model
}

fn run(seed: u64, steps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.reeldb");
    let mut db = Database::builder()
        .target_file_size(2048)
        .open(&path)
        .unwrap();
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let mut next_value = 0i64;
    for step in 0..steps {
        let table = TABLES[rng.below(3) as usize];
        match rng.below(10) {
            0 => {
                let mut txn = db.begin_write().unwrap();
                let created = txn.create_table(table, &schema()).is_ok();
                txn.commit().unwrap();
                if created {
                    model.insert(table.to_string(), Vec::new());
                }
            }
            1 if model.contains_key(table) && rng.below(3) == 0 => {
                let mut txn = db.begin_write().unwrap();
                txn.drop_table(table).unwrap();
                txn.commit().unwrap();
                model.remove(table);
            }
            2..=4 if model.contains_key(table) => {
                let n = 1 + rng.below(300) as i64;
                let values: Vec<i64> = (next_value..next_value + n).collect();
                next_value += n;
                let mut txn = db.begin_write().unwrap();
                for chunk in values.chunks(64) {
                    txn.append(table, &batch(chunk)).unwrap();
                }
                if rng.below(5) == 0 {
                    drop(txn); // rolled back
                } else {
                    txn.commit().unwrap();
                    model.get_mut(table).unwrap().extend(values);
                }
            }
            5 if model.contains_key(table) => {
                // Delete the values divisible by a small number, by replacing files.
                let divisor = 2 + rng.below(5) as i64;
                let mut txn = db.begin_write().unwrap();
                let snapshot = Arc::clone(txn.base());
                for file in &snapshot.table(table).unwrap().files {
                    let mut kept = Vec::new();
                    let mut changed = false;
                    for b in read_data_file(&snapshot.data_file_path(file)).unwrap() {
                        let b = b.unwrap();
                        let keep: BooleanArray = b
                            .column(0)
                            .as_primitive::<Int64Type>()
                            .iter()
                            .map(|v| v.map(|v| v % divisor != 0))
                            .collect();
                        changed |= keep.false_count() > 0;
                        kept.push(filter_record_batch(&b, &keep).unwrap());
                    }
                    if changed {
                        for b in &kept {
                            txn.append(table, b).unwrap();
                        }
                        txn.remove_file(table, &file.path).unwrap();
                    }
                }
                txn.commit().unwrap();
                model.get_mut(table).unwrap().retain(|v| v % divisor != 0);
            }
            6 => {
                db.compact(None).unwrap();
            }
            7 => {
                db.vacuum(1 + rng.below(3) as usize).unwrap();
            }
            8 => {
                drop(db);
                db = Database::builder()
                    .target_file_size(2048)
                    .open(&path)
                    .unwrap();
            }
            _ => {}
        }
        for values in model.values_mut() {
            values.sort_unstable();
        }
        assert_eq!(contents(&db), model, "seed {seed}, after step {step}");
    }
}

#[test]
fn random_operation_sequences_match_the_model() {
    for seed in 1..=12u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 120);
    }
}
