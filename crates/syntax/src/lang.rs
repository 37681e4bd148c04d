//! Languages: detection by path, stable codes, and what each grammar needs
//! (its tree-sitter language, our query, and the node kinds the chunker
//! attaches to a definition).

/// A language grove can parse when its `lang-*` feature is compiled in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
}

impl Lang {
    /// Every language, in code order.
    pub const ALL: [Lang; 9] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::C,
        Lang::Cpp,
    ];

    /// The language of a file, from its extension (ASCII case-insensitive).
    /// `.h` is C: a C++ header is still mostly valid C, and C headers are the
    /// more common.
    pub fn from_path(path: &[u8]) -> Option<Lang> {
        let file_name = match path.iter().rposition(|&b| b == b'/') {
            Some(slash) => &path[slash + 1..],
            None => path,
        };
        let dot = file_name.iter().rposition(|&b| b == b'.')?;
        let ext = &file_name[dot + 1..];
        if ext.len() > 4 || dot == 0 {
            return None;
        }
        let mut lower = [0u8; 4];
        for (l, b) in lower.iter_mut().zip(ext) {
            *l = b.to_ascii_lowercase();
        }
        Some(match &lower[..ext.len()] {
            b"rs" => Lang::Rust,
            b"py" | b"pyi" | b"pyw" => Lang::Python,
            b"js" | b"mjs" | b"cjs" | b"jsx" => Lang::JavaScript,
            b"ts" | b"mts" | b"cts" => Lang::TypeScript,
            b"tsx" => Lang::Tsx,
            b"go" => Lang::Go,
            b"java" => Lang::Java,
            b"c" | b"h" => Lang::C,
            b"cc" | b"cpp" | b"cxx" | b"c++" | b"hpp" | b"hh" | b"hxx" | b"h++" | b"ipp" | b"tpp" | b"inl" => Lang::Cpp,
            _ => return None,
        })
    }

    /// Lower-case name, as in `grammars/<name>/` (TSX reports `tsx`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
        }
    }

    /// The language with this [`Lang::name`].
    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Stable on-disk code. Codes are never reused; new languages get new
    /// numbers.
    pub fn code(self) -> u8 {
        match self {
            Lang::Rust => 1,
            Lang::Python => 2,
            Lang::JavaScript => 3,
            Lang::TypeScript => 4,
            Lang::Tsx => 5,
            Lang::Go => 6,
            Lang::Java => 7,
            Lang::C => 8,
            Lang::Cpp => 9,
        }
    }

    pub fn from_code(code: u8) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Whether this build can parse the language (its `lang-*` feature is on).
    pub fn compiled_in(self) -> bool {
        self.grammar().is_some()
    }

    /// The grammar and queries, or `None` when the feature is off.
    pub(crate) fn grammar(self) -> Option<Grammar> {
        let language: tree_sitter::Language = match self {
            #[cfg(feature = "lang-rust")]
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            #[cfg(feature = "lang-python")]
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            #[cfg(feature = "lang-javascript")]
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            #[cfg(feature = "lang-typescript")]
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            #[cfg(feature = "lang-typescript")]
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            #[cfg(feature = "lang-go")]
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            #[cfg(feature = "lang-java")]
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            #[cfg(feature = "lang-c")]
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            #[cfg(feature = "lang-cpp")]
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(Grammar { language, tags: self.tags_source(), rules: self.rules() })
    }

    /// Our tags query (grammars/<lang>/tags.scm), compiled in whatever the
    /// features so tests can show which file a language uses.
    pub(crate) fn tags_source(self) -> &'static str {
        match self {
            Lang::Rust => include_str!("../../../grammars/rust/tags.scm"),
            Lang::Python => include_str!("../../../grammars/python/tags.scm"),
            Lang::JavaScript => include_str!("../../../grammars/javascript/tags.scm"),
            Lang::TypeScript | Lang::Tsx => include_str!("../../../grammars/typescript/tags.scm"),
            Lang::Go => include_str!("../../../grammars/go/tags.scm"),
            Lang::Java => include_str!("../../../grammars/java/tags.scm"),
            Lang::C => include_str!("../../../grammars/c/tags.scm"),
            Lang::Cpp => include_str!("../../../grammars/cpp/tags.scm"),
        }
    }

    fn rules(self) -> &'static AttachRules {
        match self {
            Lang::Rust => &AttachRules {
                wrappers: &[],
                decorations: &[],
                leading: &["line_comment", "block_comment", "attribute_item"],
            },
            Lang::Python => &AttachRules {
                wrappers: &["decorated_definition"],
                decorations: &["decorator", "comment"],
                leading: &["comment"],
            },
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &AttachRules {
                wrappers: &["export_statement", "ambient_declaration"],
                decorations: &["decorator", "comment"],
                leading: &["comment"],
            },
            Lang::Go => &AttachRules {
                wrappers: &["type_declaration", "const_declaration", "var_declaration"],
                decorations: &["comment"],
                leading: &["comment"],
            },
            Lang::Java => &AttachRules { wrappers: &[], decorations: &[], leading: &["line_comment", "block_comment"] },
            Lang::C => &AttachRules { wrappers: &[], decorations: &[], leading: &["comment"] },
            Lang::Cpp => &AttachRules {
                wrappers: &["template_declaration"],
                decorations: &["template_parameter_list", "requires_clause", "comment"],
                leading: &["comment"],
            },
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) struct Grammar {
    pub language: tree_sitter::Language,
    pub tags: &'static str,
    pub rules: &'static AttachRules,
}

/// What belongs to a definition besides its own node.
pub(crate) struct AttachRules {
    /// Parent kinds that wrap a single definition (`export`, decorators,
    /// `template<...>`): the definition grows to the wrapper when every other
    /// named child of the wrapper is in `decorations`.
    pub wrappers: &'static [&'static str],
    pub decorations: &'static [&'static str],
    /// Sibling kinds directly above a definition (no blank line between) that
    /// belong to it: doc comments, attributes.
    pub leading: &'static [&'static str],
}
