//! What a definition is.

/// The kind of a definition. `as_str` names are the `@definition.<kind>`
/// captures of `grammars/*/tags.scm`; codes are stable on disk and never
/// reused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    Function,
    Method,
    Constructor,
    Class,
    Struct,
    Union,
    Enum,
    Interface,
    Trait,
    Impl,
    Module,
    Namespace,
    Type,
    Constant,
    Variable,
    Field,
    Macro,
}

impl SymbolKind {
    pub const ALL: [SymbolKind; 17] = [
        SymbolKind::Function,
        SymbolKind::Method,
        SymbolKind::Constructor,
        SymbolKind::Class,
        SymbolKind::Struct,
        SymbolKind::Union,
        SymbolKind::Enum,
        SymbolKind::Interface,
        SymbolKind::Trait,
        SymbolKind::Impl,
        SymbolKind::Module,
        SymbolKind::Namespace,
        SymbolKind::Type,
        SymbolKind::Constant,
        SymbolKind::Variable,
        SymbolKind::Field,
        SymbolKind::Macro,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Constructor => "constructor",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Union => "union",
            SymbolKind::Enum => "enum",
            SymbolKind::Interface => "interface",
            SymbolKind::Trait => "trait",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Namespace => "namespace",
            SymbolKind::Type => "type",
            SymbolKind::Constant => "constant",
            SymbolKind::Variable => "variable",
            SymbolKind::Field => "field",
            SymbolKind::Macro => "macro",
        }
    }

    /// The kind named by [`SymbolKind::as_str`].
    pub fn parse(name: &str) -> Option<SymbolKind> {
        SymbolKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn code(self) -> u8 {
        match self {
            SymbolKind::Function => 1,
            SymbolKind::Method => 2,
            SymbolKind::Constructor => 3,
            SymbolKind::Class => 4,
            SymbolKind::Struct => 5,
            SymbolKind::Union => 6,
            SymbolKind::Enum => 7,
            SymbolKind::Interface => 8,
            SymbolKind::Trait => 9,
            SymbolKind::Impl => 10,
            SymbolKind::Module => 11,
            SymbolKind::Namespace => 12,
            SymbolKind::Type => 13,
            SymbolKind::Constant => 14,
            SymbolKind::Variable => 15,
            SymbolKind::Field => 16,
            SymbolKind::Macro => 17,
        }
    }

    pub fn from_code(code: u8) -> Option<SymbolKind> {
        SymbolKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether definitions inside this one are named after it
    /// (`Foo::bar`). Values (constants, variables, fields), type aliases and
    /// macros are not containers: a struct declared inside a C `typedef`
    /// is not "in" the typedef.
    pub(crate) fn is_container(self) -> bool {
        !matches!(
            self,
            SymbolKind::Type | SymbolKind::Constant | SymbolKind::Variable | SymbolKind::Field | SymbolKind::Macro
        )
    }

    /// Kinds whose nested functions are methods.
    pub(crate) fn has_methods(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Union
                | SymbolKind::Enum
                | SymbolKind::Interface
                | SymbolKind::Trait
                | SymbolKind::Impl
        )
    }
}

impl std::fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
