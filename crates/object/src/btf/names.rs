//! Short C-like spellings of types, for messages and listings.
//!
//! Takes a parsed [`Btf`] and a type id; gives a readable name such as `struct key`,
//! `const char *`, `unsigned int[4]` or `int (struct xdp_md *)`. It is meant for people
//! (`inspect`, error messages), not a C declarator parser: pointers to arrays and functions
//! are spelled left to right.

use super::query::Btf;
use super::types::TypeKind;

/// How deep [`Btf::type_name`] follows references before writing `...`.
const MAX_NAME_DEPTH: usize = 16;
/// How many types one [`Btf::type_name`] spells at most (function prototypes fan out).
const MAX_NAME_TYPES: usize = 256;

fn or_anon(name: &str) -> &str {
    if name.is_empty() {
        "(anon)"
    } else {
        name
    }
}

impl Btf {
    /// A C-like name of type `id` (`"?"` for an id past the last type).
    ///
    /// ```
    /// # use userbpf_object::btf::Btf;
    /// # let mut bytes = vec![0x9f, 0xeb, 1, 0];
    /// # for w in [24u32, 0, 28, 28, 6] { bytes.extend_from_slice(&w.to_le_bytes()); }
    /// # for w in [1u32, 1 << 24, 1, (1 << 24) | 8, 0, 2 << 24, 1] { bytes.extend_from_slice(&w.to_le_bytes()); }
    /// # bytes.extend_from_slice(b"\0char\0");
    /// let btf = Btf::parse(&bytes).unwrap();
    /// assert_eq!(btf.type_name(2), "char *");
    /// ```
    pub fn type_name(&self, id: u32) -> String {
        let mut budget = MAX_NAME_TYPES;
        self.name_at(id, 0, &mut budget)
    }

    fn name_at(&self, id: u32, depth: usize, budget: &mut usize) -> String {
        if *budget == 0 {
            return "...".to_string();
        }
        *budget -= 1;
        if depth > MAX_NAME_DEPTH {
            return "...".to_string();
        }
        let Ok(t) = self.type_by_id(id) else {
            return "?".to_string();
        };
        let mut inner = |tid: u32| self.name_at(tid, depth + 1, budget);
        match &t.kind {
            TypeKind::Void => "void".to_string(),
            TypeKind::Int { .. }
            | TypeKind::Float { .. }
            | TypeKind::Typedef { .. }
            | TypeKind::Func { .. }
            | TypeKind::Var { .. } => or_anon(&t.name).to_string(),
            TypeKind::Struct { .. } => format!("struct {}", or_anon(&t.name)),
            TypeKind::Union { .. } => format!("union {}", or_anon(&t.name)),
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                format!("enum {}", or_anon(&t.name))
            }
            TypeKind::Fwd { is_union } => {
                let kw = if *is_union { "union" } else { "struct" };
                format!("{kw} {}", or_anon(&t.name))
            }
            TypeKind::Ptr { type_id } => {
                let s = inner(*type_id);
                if s.ends_with('*') {
                    format!("{s}*")
                } else {
                    format!("{s} *")
                }
            }
            TypeKind::Const { type_id } => format!("const {}", inner(*type_id)),
            TypeKind::Volatile { type_id } => format!("volatile {}", inner(*type_id)),
            TypeKind::Restrict { type_id } => format!("{} restrict", inner(*type_id)),
            TypeKind::TypeTag { type_id, .. } => {
                format!(
                    "{} __attribute__((btf_type_tag(\"{}\")))",
                    inner(*type_id),
                    t.name
                )
            }
            TypeKind::DeclTag { type_id, .. } => inner(*type_id),
            TypeKind::Array {
                elem_type, nelems, ..
            } => {
                // C writes the outer dimension first: int a[2][3] is 2 arrays of int[3].
                let mut dims = format!("[{nelems}]");
                let mut elem = *elem_type;
                for _ in 0..MAX_NAME_DEPTH {
                    match self.type_by_id(elem).map(|t| &t.kind) {
                        Ok(TypeKind::Array {
                            elem_type, nelems, ..
                        }) => {
                            dims.push_str(&format!("[{nelems}]"));
                            elem = *elem_type;
                        }
                        _ => break,
                    }
                }
                format!("{}{dims}", inner(elem))
            }
            TypeKind::FuncProto {
                return_type,
                params,
            } => {
                let ret = inner(*return_type);
                let mut ps: Vec<String> = Vec::new();
                for p in params {
                    if *budget == 0 {
                        ps.push("...".to_string());
                        break;
                    }
                    ps.push(if p.type_id == 0 && p.name.is_empty() {
                        "...".to_string()
                    } else {
                        self.name_at(p.type_id, depth + 1, budget)
                    });
                }
                let ps = if ps.is_empty() {
                    "void".to_string()
                } else {
                    ps.join(", ")
                };
                format!("{ret} ({ps})")
            }
            TypeKind::Datasec { .. } => format!("SEC(\"{}\")", t.name),
        }
    }
}
