//! The immutable segment format. TO BE WRITTEN — see the API contract below.
//!
//! API contract (other crates code against exactly this):
//!
//! ```ignore
//! pub const FORMAT_VERSION: u32;
//! pub struct DocInput<'a> { pub content_id: ContentId, pub git_oid: GitOid, pub content: &'a [u8] }
//! pub struct PreparedDoc { .. }                      // Send; built in parallel
//! impl PreparedDoc { pub fn new(doc: DocInput<'_>, zstd_level: i32) -> PreparedDoc;
//!                    pub fn raw_len(&self) -> u64; pub fn compressed_len(&self) -> u64 }
//! pub struct SegmentWriter { .. }
//! impl SegmentWriter {
//!     pub fn new() -> Self;
//!     pub fn add(&mut self, doc: PreparedDoc) -> u32;   // dense doc ids 0,1,2,…
//!     pub fn len(&self) -> u32;
//!     pub fn raw_bytes(&self) -> u64;                    // sum of raw content lengths so far
//!     pub fn finish(self) -> Vec<u8>;                    // the whole segment file
//! }
//! pub struct DocEntry { pub content_id: ContentId, pub git_oid: GitOid, pub size: u64 }
//! pub struct Segment { .. }                          // Send + Sync, cheap to share in Arc
//! impl Segment {
//!     pub fn open(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Result<Segment, SegmentError>;
//!     pub fn num_docs(&self) -> u32;
//!     pub fn doc(&self, id: u32) -> DocEntry;
//!     pub fn postings(&self, t: Trigram) -> Result<RoaringBitmap, SegmentError>; // empty if absent
//!     pub fn content_into(&self, id: u32, buf: &mut Vec<u8>) -> Result<(), SegmentError>;
//!     pub fn verify(&self) -> Result<SegmentStats, SegmentError>; // deep check (grove check)
//!     pub fn stats(&self) -> SegmentStats;              // section sizes
//! }
//! ```
