//! The protobuf wire format, as much of it as writing an ONNX model needs: varints, 32-bit
//! floats, length-delimited bytes and nested messages. Writing is all reeldb does with ONNX's
//! protobuf (ONNX Runtime reads the files), so a code generator and its build step would
//! bring more than they give.

/// Wire type of varint fields (integers, enums).
const VARINT: u8 = 0;
/// Wire type of length-delimited fields (strings, bytes, messages, packed repeats).
const LENGTH_DELIMITED: u8 = 2;
/// Wire type of 32-bit fields (`float`).
const FIXED32: u8 = 5;

/// An encoded protobuf message, written field by field.
#[derive(Debug, Default, Clone)]
pub struct Message {
    bytes: Vec<u8>,
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    /// An `int32`/`int64`/enum field. Negative values take ten bytes, as protobuf specifies
    /// for the non-zigzag integer types.
    pub fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, VARINT);
        self.varint(value as u64);
        self
    }

    /// A `float` field.
    pub fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.bytes.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A `bytes` field.
    pub fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.key(field, LENGTH_DELIMITED);
        self.varint(value.len() as u64);
        self.bytes.extend_from_slice(value);
        self
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, value: &str) -> &mut Self {
        self.bytes(field, value.as_bytes())
    }

    /// A nested message field.
    pub fn message(&mut self, field: u32, value: &Message) -> &mut Self {
        self.bytes(field, &value.bytes)
    }

    /// A packed `repeated int64` field. ONNX's schema is proto2, where repeats are unpacked by
    /// default, but protobuf parsers must accept both encodings; packed is the smaller.
    pub fn packed_ints(&mut self, field: u32, values: &[i64]) -> &mut Self {
        let mut packed = Message::new();
        for &value in values {
            packed.varint(value as u64);
        }
        self.bytes(field, &packed.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_encode_as_the_protobuf_specification_shows() {
        // The examples of https://protobuf.dev/programming-guides/encoding/: field 1 = 150 is
        // 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        let mut message = Message::new();
        message.int(1, 150).string(2, "testing");
        assert_eq!(
            message.into_bytes(),
            [
                0x08, 0x96, 0x01, 0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67
            ]
        );
    }

    #[test]
    fn negative_integers_take_ten_bytes_and_floats_four() {
        let mut message = Message::new();
        message.int(3, -1).float(2, 1.0);
        assert_eq!(
            message.into_bytes(),
            [
                0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x15, 0x00, 0x00,
                0x80, 0x3f
            ]
        );
    }

    #[test]
    fn repeated_integers_are_packed_and_messages_nest() {
        // The specification's packed example: field 4 = [3, 270, 86942] is 22 06 03 8E 02 9E A7 05.
        let mut inner = Message::new();
        inner.packed_ints(4, &[3, 270, 86942]);
        assert_eq!(
            inner.clone().into_bytes(),
            [0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]
        );
        let mut outer = Message::new();
        outer.message(1, &inner);
        let bytes = outer.into_bytes();
        assert_eq!(&bytes[..2], &[0x0a, 0x08]);
        assert_eq!(bytes.len(), 10);
    }
}
