//! Frame numbers for photo collections: directories whose file names do not number their
//! frames.
//!
//! A broadcast's frames are named `…-000123.jpg`, and the number is the frame's. A folder of
//! photos is not: `biden-1.jpg` and `obama-1.jpg` both end in 1 and `rocket.jpg` in nothing,
//! so reading numbers from the names would give two frames one key and another none. So, per
//! video (folder), the names are trusted only when every file has a number and no two share
//! one; otherwise the video's files are numbered 1, 2, … in name order. On a re-run the files
//! already in the table keep their numbers and new ones continue after the highest, so keys
//! stay unique and stable as a collection grows.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::frame_table::FrameKey;

/// One listed file: its video, its path as stored (`file`), and the number its name gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFrame {
    /// The video (broadcast, folder) it belongs to.
    pub video: String,
    /// The file, relative to the ingested directory.
    pub file: String,
    /// Its number: from its name, or given by [`number_photo_collections`].
    pub frame: Option<i64>,
}

/// Numbers the frames of every video in `listed` (in name order) whose names do not number
/// them uniquely, keeping the numbers of the files `existing` (the table's keys) already
/// holds. Returns a note per video so numbered.
pub fn number_photo_collections(
    listed: &mut [ListedFrame],
    existing: &HashSet<FrameKey>,
) -> Vec<String> {
    let mut by_video: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, frame) in listed.iter().enumerate() {
        by_video.entry(frame.video.clone()).or_default().push(index);
    }
    // What the table holds per video: each file's number, and the highest.
    let mut stored: HashMap<(&str, &str), Option<i64>> = HashMap::new();
    let mut highest: HashMap<&str, i64> = HashMap::new();
    for (video, file, frame) in existing {
        stored.insert((video.as_str(), file.as_str()), *frame);
        if let Some(frame) = frame {
            let top = highest.entry(video.as_str()).or_insert(0);
            *top = (*top).max(*frame);
        }
    }
    let mut notes = Vec::new();
    for (video, indices) in &by_video {
        let mut seen = HashMap::new();
        let mut clash = None;
        let mut unnumbered = None;
        for &index in indices {
            match listed[index].frame {
                None => unnumbered = unnumbered.or(Some(index)),
                Some(frame) => {
                    if let Some(&first) = seen.get(&frame) {
                        clash = clash.or(Some((first, index, frame)));
                    } else {
                        seen.insert(frame, index);
                    }
                }
            }
        }
        let why = match (clash, unnumbered) {
            (Some((first, second, frame)), _) => format!(
                "'{}' and '{}' are both {frame}",
                listed[first].file, listed[second].file
            ),
            (None, Some(index)) => format!("'{}' has none", listed[index].file),
            (None, None) => continue,
        };
        let mut next = highest.get(video.as_str()).copied().unwrap_or(0) + 1;
        let mut files: Vec<usize> = indices.clone();
        files.sort_by(|&a, &b| listed[a].file.cmp(&listed[b].file));
        for index in files {
            let key = (listed[index].video.as_str(), listed[index].file.as_str());
            listed[index].frame = match stored.get(&key) {
                Some(kept) => *kept,
                None => {
                    next += 1;
                    Some(next - 1)
                }
            };
        }
        notes.push(format!(
            "the file names in '{video}' do not number its frames ({why}): its frames are \
             numbered in name order instead, as a photo collection's"
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(names: &[(&str, Option<i64>)]) -> Vec<ListedFrame> {
        names
            .iter()
            .map(|(file, frame)| ListedFrame {
                video: "photos".into(),
                file: (*file).into(),
                frame: *frame,
            })
            .collect()
    }

    fn frames(listed: &[ListedFrame]) -> Vec<Option<i64>> {
        listed.iter().map(|f| f.frame).collect()
    }

    #[test]
    fn numbered_frames_keep_their_numbers() {
        let mut frames_dir = listed(&[("v-000002.jpg", Some(2)), ("v-000005.jpg", Some(5))]);
        assert!(number_photo_collections(&mut frames_dir, &HashSet::new()).is_empty());
        assert_eq!(frames(&frames_dir), [Some(2), Some(5)]);
    }

    /// Issue 21, item 3: the fixture photos gave two frames one key and one none.
    #[test]
    fn photos_are_numbered_in_name_order_and_keep_their_numbers_when_more_arrive() {
        let mut photos = listed(&[
            ("biden-1.jpg", Some(1)),
            ("obama-1.jpg", Some(1)),
            ("obama-2.jpg", Some(2)),
            ("rocket.jpg", None),
        ]);
        let notes = number_photo_collections(&mut photos, &HashSet::new());
        assert_eq!(frames(&photos), [Some(1), Some(2), Some(3), Some(4)]);
        assert!(
            notes[0].contains("'biden-1.jpg' and 'obama-1.jpg' are both 1"),
            "{notes:?}"
        );
        // A re-run with a new photo that sorts first: the others keep theirs.
        let existing: HashSet<FrameKey> = photos
            .iter()
            .map(|f| (f.video.clone(), f.file.clone(), f.frame))
            .collect();
        let mut again = listed(&[
            ("aaa.jpg", None),
            ("biden-1.jpg", Some(1)),
            ("obama-1.jpg", Some(1)),
            ("obama-2.jpg", Some(2)),
            ("rocket.jpg", None),
        ]);
        number_photo_collections(&mut again, &existing);
        assert_eq!(
            frames(&again),
            [Some(5), Some(1), Some(2), Some(3), Some(4)]
        );
    }
}
