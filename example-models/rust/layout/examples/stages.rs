//! Times the guest-side stages of a layout prediction natively on a page file:
//!   cargo run --release -p layout --example stages -- page.png
use std::time::Instant;

use wasml_guest::image::decode_rgb;
use wasml_guest::nn::Tensor;

fn main() {
    let path = std::env::args().nth(1).expect("a page file");
    let bytes = std::fs::read(&path).expect("readable");
    let t = Instant::now();
    let image = decode_rgb(&bytes).expect("an image");
    println!("decode {}x{}: {:?}", image.width, image.height, t.elapsed());
    let t = Instant::now();
    let input = layout::picodet::preprocess(&image);
    println!("preprocess: {:?}", t.elapsed());
    let t = Instant::now();
    let tensor = Tensor::f32(&[1, 3, 800, 608], &input);
    println!(
        "tensor bytes: {:?} ({} bytes)",
        t.elapsed(),
        tensor.data.len()
    );
    let t = Instant::now();
    let back = tensor.to_f32().expect("f32");
    println!("tensor back: {:?} ({})", t.elapsed(), back.len());
    let t = Instant::now();
    let scale = 256.0 / image.width.min(image.height) as f64;
    let (w, h) = (
        (image.width as f64 * scale).round() as usize,
        (image.height as f64 * scale).round() as usize,
    );
    let small = wasml_guest::image::resize_lanczos4(&image, w, h);
    println!(
        "lanczos to {}x{}: {:?}",
        small.width,
        small.height,
        t.elapsed()
    );
}
