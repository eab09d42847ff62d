fn main() {
    std::process::exit(mailinfra::cli::main());
}
