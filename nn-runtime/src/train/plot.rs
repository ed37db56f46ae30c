//! A PNG of the training curves: loss on the left, accuracy on the right, per epoch.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::History;
use crate::Error;

/// DejaVu Sans (licence in `assets/LICENSE-DejaVu`), embedded so drawing text needs
/// no system fonts.
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name the font is registered under; unique, so a user's fonts are untouched.
const FONT: &str = "nn-dejavu-sans";
const SIZE: (u32, u32) = (1200, 480);
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const TEST_COLOR: RGBColor = RGBColor(255, 127, 14);

/// Draws `history` as a PNG at `path`: train and test loss, train and test accuracy
/// (in %), against the epoch. Parent directories are created.
pub fn plot_history(history: &History, path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let plot_error = |reason: String| Error::Plot { path: path.to_path_buf(), reason };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| plot_error(e.to_string()))?;
    }
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if !*REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()) {
        return Err(plot_error("the embedded font could not be loaded".to_string()));
    }
    draw(history, path).map_err(plot_error)
}

/// One panel: a caption, a y-axis label, and the train and test series.
struct Panel<'a> {
    caption: &'a str,
    y_label: &'a str,
    train: Vec<(f64, f64)>,
    test: Vec<(f64, f64)>,
    legend: SeriesLabelPosition,
}

fn draw(history: &History, path: &Path) -> Result<(), String> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let title = format!("Training history ({} epochs)", history.len());
    let root = root.titled(&title, (FONT, 28)).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    let series = |value: fn(&super::EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        history.epochs.iter().filter_map(|r| Some((r.epoch as f64, value(r)?))).collect()
    };
    let loss = Panel {
        caption: "Loss",
        y_label: "mean loss",
        train: series(|r| Some(r.train_loss)),
        test: series(|r| r.test_loss),
        legend: SeriesLabelPosition::UpperRight,
    };
    let accuracy = Panel {
        caption: "Accuracy",
        y_label: "accuracy (%)",
        train: series(|r| Some(100.0 * r.train_accuracy)),
        test: series(|r| r.test_accuracy.map(|a| 100.0 * a)),
        legend: SeriesLabelPosition::LowerRight,
    };
    draw_panel(&left, &loss, history.len())?;
    draw_panel(&right, &accuracy, history.len())?;
    root.present().map_err(|e| e.to_string())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    epochs: usize,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let values = || panel.train.iter().chain(&panel.test).map(|&(_, y)| y).filter(|y| y.is_finite());
    let (low, high) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (low, high) = if low <= high { (low, high) } else { (0.0, 1.0) };
    let margin = ((high - low) * 0.08).max(1e-3);
    let x_range = 0.5..epochs.max(1) as f64 + 0.5;

    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, (FONT, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range, (low - margin)..(high + margin))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.y_label)
        .x_labels(epochs.clamp(2, 16))
        .x_label_formatter(&|x| if x.fract() == 0.0 { format!("{x:.0}") } else { String::new() })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, points, color) in [("train", &panel.train, TRAIN_COLOR), ("test", &panel.test, TEST_COLOR)] {
        if points.is_empty() {
            continue;
        }
        let line = LineSeries::new(points.iter().copied(), color.stroke_width(3)).point_size(4);
        chart
            .draw_series(line)
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(panel.legend.clone())
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}
