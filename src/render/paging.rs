//! Long tables split into numbered pages, so no page of a big repository is too heavy
//! to open on a phone (the ticket list of 4,000 tickets was 1.8 MB).
//!
//! A list page keeps its path and shows the first page of each of its long tables; the
//! further pages of a table are files beside it, `<table>~<n>.html` (`tickets/open~2.html`),
//! so their links are stable and every page is at the list's depth. An id never has a
//! `~` (ids are letters, digits, `.`, `_` and `-`), so no entity's page beside them
//! (`tickets/<id>.html`) can be named like one. A table of at most
//! [`PER_PAGE`] rows is not split. The rules here are pure; which tables a list has and
//! how long they are is asked of the derived data (`table_sizes` in `pages.rs`).

use std::ops::Range;

use serde::Serialize;

/// Rows on one page of a long table: ~40 KB of ticket rows, so a list page with two
/// tables and its summaries stays well under 300 KB.
pub const PER_PAGE: usize = 100;

/// How many pages a table of `total` rows takes (at least one, even empty).
pub fn page_count(total: usize) -> usize {
    total.div_ceil(PER_PAGE).max(1)
}

/// The rows of page `page` (from 1) of a table of `total` rows (empty past the end).
pub fn rows_of(total: usize, page: usize) -> Range<usize> {
    let start = page.saturating_sub(1).saturating_mul(PER_PAGE).min(total);
    start..start.saturating_add(PER_PAGE).min(total)
}

/// The path of page `page` of the table `table` of the list at `list_path`
/// (`tickets/index.html`): the list itself for the first page.
pub fn page_path(list_path: &str, table: &str, page: usize) -> String {
    if page <= 1 {
        return list_path.to_owned();
    }
    match list_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{table}~{page}.html"),
        None => format!("{table}~{page}.html"),
    }
}

/// Where a page is among the pages of one table, as templates see it (`paging.<table>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pager {
    pub table: &'static str,
    /// This page's number, from 1.
    pub page: usize,
    pub pages: usize,
    /// Rows in the whole table.
    pub total: usize,
    /// The rows on this page: `start..end` of the table's rows.
    pub start: usize,
    pub end: usize,
    /// Every page of the table, by its link from this page (pages of a table are files
    /// of one directory).
    pub links: Vec<PageLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
    /// Its first and last row, counted from 1, for the link's accessible name.
    pub first: usize,
    pub last: usize,
}

impl Pager {
    /// Page `page` of the table `table` (of `total` rows) of the list at `list_path`.
    pub fn new(list_path: &str, table: &'static str, total: usize, page: usize) -> Self {
        let pages = page_count(total);
        let rows = rows_of(total, page);
        let links = (1..=pages)
            .map(|number| {
                let path = page_path(list_path, table, number);
                let file = path.rsplit_once('/').map_or(path.as_str(), |(_, f)| f);
                // The list's own page has other tables too: its link is to the table
                // (whose id is the table's name).
                let href = if number == 1 {
                    format!("{file}#{table}")
                } else {
                    file.to_owned()
                };
                let range = rows_of(total, number);
                PageLink {
                    number,
                    href,
                    current: number == page,
                    first: range.start + 1,
                    last: range.end,
                }
            })
            .collect();
        Pager {
            table,
            page,
            pages,
            total,
            start: rows.start,
            end: rows.end,
            links,
        }
    }

    pub fn rows(&self) -> Range<usize> {
        self.start..self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_takes_whole_pages_of_at_most_per_page_rows_and_at_least_one() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(1), 1);
        assert_eq!(page_count(PER_PAGE), 1);
        assert_eq!(page_count(PER_PAGE + 1), 2);
        assert_eq!(page_count(3 * PER_PAGE), 3);
        assert_eq!(rows_of(0, 1), 0..0);
        assert_eq!(rows_of(5, 1), 0..5);
        assert_eq!(rows_of(PER_PAGE + 5, 2), PER_PAGE..PER_PAGE + 5);
        assert_eq!(rows_of(PER_PAGE + 5, 3), PER_PAGE + 5..PER_PAGE + 5);
        assert_eq!(rows_of(10, 0), 0..10, "page 0 is read as the first");
    }

    #[test]
    fn every_row_is_on_exactly_one_page() {
        for total in [0, 1, 99, 100, 101, 250, 1305] {
            let mut seen = vec![0; total];
            for page in 1..=page_count(total) {
                for row in rows_of(total, page) {
                    seen[row] += 1;
                }
            }
            assert!(seen.iter().all(|n| *n == 1), "{total}");
        }
    }

    #[test]
    fn the_first_page_is_the_list_and_the_others_are_beside_it() {
        assert_eq!(
            page_path("tickets/index.html", "open", 1),
            "tickets/index.html"
        );
        assert_eq!(
            page_path("tickets/index.html", "open", 2),
            "tickets/open~2.html"
        );
        assert_eq!(page_path("alerts.html", "all", 3), "all~3.html");
        let pager = Pager::new("tickets/index.html", "closed", 2 * PER_PAGE + 1, 2);
        assert_eq!(
            (pager.page, pager.pages, pager.total),
            (2, 3, 2 * PER_PAGE + 1)
        );
        assert_eq!(pager.rows(), PER_PAGE..2 * PER_PAGE);
        let hrefs: Vec<&str> = pager.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(
            hrefs,
            ["index.html#closed", "closed~2.html", "closed~3.html"]
        );
        assert!(pager.links[1].current && !pager.links[0].current);
        assert_eq!(
            (pager.links[2].first, pager.links[2].last),
            (2 * PER_PAGE + 1, 2 * PER_PAGE + 1)
        );
    }
}
