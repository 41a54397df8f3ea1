//! Greedy non-maximum suppression: of overlapping boxes, keep the strongest.

use super::DetectedFace;

/// Intersection over union of two boxes given as `[x1, y1, x2, y2]`.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let width = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let height = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let intersection = width * height;
    let area = |r: [f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - intersection;
    if union > 0.0 {
        intersection / union
    } else {
        0.0
    }
}

/// Keeps the faces no stronger face overlaps by more than `max_iou`, strongest first.
pub fn suppress(mut faces: Vec<DetectedFace>, max_iou: f32) -> Vec<DetectedFace> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<DetectedFace> = Vec::new();
    for face in faces {
        let corners = face.corners();
        if kept.iter().all(|k| iou(k.corners(), corners) <= max_iou) {
            kept.push(face);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, score: f32) -> DetectedFace {
        DetectedFace {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score,
            landmarks: None,
        }
    }

    #[test]
    fn overlapping_boxes_keep_the_strongest_and_apart_boxes_stay() {
        let kept = suppress(vec![face(1.0, 0.8), face(0.0, 0.9), face(50.0, 0.75)], 0.3);
        let xs: Vec<f32> = kept.iter().map(|f| f.x).collect();
        assert_eq!(xs, vec![0.0, 50.0]);
        assert!((iou([0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]), 0.0);
    }
}
