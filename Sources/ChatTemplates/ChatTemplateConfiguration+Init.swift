extension ChatTemplateConfiguration {
    /// A configuration from parts already at hand (e.g. a GGUF file's metadata and its tokenizer's special tokens).
    public init(_ template: ChatTemplate?, bosToken: String?, eosToken: String?) {
        self.template = template
        self.bosToken = bosToken
        self.eosToken = eosToken
    }
}
